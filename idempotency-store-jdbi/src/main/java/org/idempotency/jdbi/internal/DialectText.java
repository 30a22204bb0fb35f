package org.idempotency.jdbi.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the dialects share about text: the schema scripts (loaded from the jar, renamed for a configured table),
 * quoted and qualified names, and the first line of a server message, cut to a bounded length. Stateless.
 */
final class DialectText {

    /** The table name the schema scripts are written for. */
    static final String SCRIPT_TABLE = "idempotency_records";
    /** The suffix of a table's fencing-token sequence. */
    static final String SEQUENCE_SUFFIX = "_fencing_seq";
    /** The suffix of a table's expiry index. */
    static final String INDEX_SUFFIX = "_expires_at_idx";
    /** The longest error description kept, in characters. */
    private static final int MAX_DESCRIPTION = 300;
    private static final Pattern SCRIPT_NAMES = Pattern.compile(
            "\\b" + SCRIPT_TABLE + "(" + SEQUENCE_SUFFIX + "|" + INDEX_SUFFIX + ")?\\b");

    private DialectText() {
    }

    /** A schema script of the jar, as text. */
    static String loadScript(String resource) {
        try (InputStream in = DialectText.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("The schema script " + resource + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the schema script " + resource, e);
        }
    }

    /**
     * A schema script written for {@value #SCRIPT_TABLE} renamed for {@code table}: the table and its sequence
     * qualified by the table's schema, the index (which belongs to its table) by its name alone.
     */
    static String renameScript(String script, TableName table, char quote) {
        Matcher matcher = SCRIPT_NAMES.matcher(script);
        StringBuilder out = new StringBuilder(script.length() + 64);
        while (matcher.find()) {
            String suffix = matcher.group(1);
            String replacement;
            if (suffix == null) {
                replacement = qualified(table, table.table(), quote);
            } else if (suffix.equals(SEQUENCE_SUFFIX)) {
                replacement = qualified(table, table.table() + SEQUENCE_SUFFIX, quote);
            } else {
                replacement = quote(table.table() + INDEX_SUFFIX, quote);
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /*
     * TableName admits only [a-z0-9_], so quoting cannot be escaped; it makes reserved words ("order", "user")
     * usable as names.
     */
    static String qualified(TableName table, String name, char quote) {
        return table.schema() == null ? quote(name, quote) : quote(table.schema(), quote) + "." + quote(name, quote);
    }

    static String quote(String identifier, char quote) {
        return quote + identifier + quote;
    }

    /** The first line of a message, stripped. */
    static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return (newline < 0 ? message : message.substring(0, newline)).strip();
    }

    /** The text cut to the longest description kept, marked with "…" where it was cut. */
    static String cut(String text) {
        return text.length() > MAX_DESCRIPTION ? text.substring(0, MAX_DESCRIPTION) + "…" : text;
    }
}
