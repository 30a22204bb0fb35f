package org.idempotency.servlet.internal;

/**
 * Parses the value of an {@code Idempotency-Key} header. The draft defines it as an RFC 8941 Item whose value
 * is an sf-string ({@code "8e03978e-40d5"}: printable ASCII between double quotes, where only {@code \"} and
 * {@code \\} are escaped). Many clients send a bare value instead ({@code Idempotency-Key: 8e03978e-40d5}),
 * so a bare run of visible ASCII characters other than {@code " \ , ;} is accepted as well.
 *
 * <p>Stateless and thread-safe.
 */
public final class KeyHeader {

    private KeyHeader() {
    }

    /** The header value broke a rule; {@link #getMessage()} names it. */
    public static final class MalformedKey extends Exception {
        private static final long serialVersionUID = 1L;

        /**
         * A broken rule.
         *
         * @param rule what the header should have been
         */
        public MalformedKey(String rule) {
            super(rule, null, false, false);
        }
    }

    /**
     * Returns the key carried by one header value.
     *
     * @param value the raw field value
     * @param maxLength the longest key accepted, in characters
     * @return the key, unquoted
     * @throws MalformedKey naming the broken rule
     */
    public static String parse(String value, int maxLength) throws MalformedKey {
        String field = trim(value);
        if (field.isEmpty()) {
            throw new MalformedKey("the header must not be empty");
        }
        String key = field.charAt(0) == '"' ? quoted(field, maxLength) : bare(field, maxLength);
        if (key.isEmpty()) {
            throw new MalformedKey("the key must not be empty");
        }
        if (key.isBlank()) {
            throw new MalformedKey("the key must not consist of spaces only");
        }
        return key;
    }

    private static String quoted(String field, int maxLength) throws MalformedKey {
        StringBuilder key = new StringBuilder(Math.min(field.length(), maxLength + 1));
        int i = 1;
        boolean closed = false;
        while (i < field.length()) {
            char c = field.charAt(i);
            if (c == '"') {
                closed = true;
                i++;
                break;
            }
            if (c == '\\') {
                if (i + 1 >= field.length()) {
                    throw new MalformedKey("the quoted key has no closing double quote (it ends with a backslash)");
                }
                char escaped = field.charAt(i + 1);
                if (escaped != '"' && escaped != '\\') {
                    throw new MalformedKey("in a quoted key a backslash may only escape '\"' or '\\' (RFC 8941"
                            + " sf-string)");
                }
                c = escaped;
                i += 2;
            } else {
                if (c < 0x20 || c > 0x7e) {
                    throw new MalformedKey("the key may only contain printable ASCII characters (0x20 to 0x7E),"
                            + " found " + describe(c) + " at position " + i);
                }
                i++;
            }
            key.append(c);
            if (key.length() > maxLength) {
                throw tooLong(maxLength);
            }
        }
        if (!closed) {
            throw new MalformedKey("the quoted key has no closing double quote");
        }
        if (i < field.length()) {
            String rest = field.substring(i).stripLeading();
            if (rest.startsWith(",")) {
                throw new MalformedKey("the header must carry one key, not a list");
            }
            if (rest.startsWith(";")) {
                throw new MalformedKey("parameters are not accepted after the key");
            }
            throw new MalformedKey("nothing may follow the closing double quote of the key");
        }
        return key.toString();
    }

    private static String bare(String field, int maxLength) throws MalformedKey {
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '"') {
                throw new MalformedKey("the double quotes are unbalanced: a quoted key must start and end with"
                        + " '\"'");
            }
            if (c == ',') {
                throw new MalformedKey("the header must carry one key, not a list");
            }
            if (c == ';') {
                throw new MalformedKey("parameters are not accepted after the key");
            }
            if (c <= 0x20 || c >= 0x7f || c == '\\') {
                throw new MalformedKey("an unquoted key may only contain visible ASCII characters other than"
                        + " '\"', '\\', ',' and ';' (quote it as an sf-string to use spaces), found " + describe(c)
                        + " at position " + i);
            }
        }
        if (field.length() > maxLength) {
            throw tooLong(maxLength);
        }
        return field;
    }

    private static MalformedKey tooLong(int maxLength) {
        return new MalformedKey("the key must be at most " + maxLength + " characters long");
    }

    private static String trim(String value) {
        int start = 0;
        int end = value.length();
        while (start < end && isSpace(value.charAt(start))) {
            start++;
        }
        while (end > start && isSpace(value.charAt(end - 1))) {
            end--;
        }
        return value.substring(start, end);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    private static String describe(char c) {
        return c > 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }
}
