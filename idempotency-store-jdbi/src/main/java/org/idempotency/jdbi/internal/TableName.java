package org.idempotency.jdbi.internal;

import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A validated table name, optionally schema-qualified ({@code schema.table}). Each part is a plain SQL
 * identifier: a lower-case letter or underscore, then lower-case letters, digits or underscores. Nothing else
 * gets through (no quotes, spaces, dots beyond the one separator, semicolons or comment markers), so a table
 * name from configuration can never inject SQL. The table part is at most {@value #MAX_TABLE_LENGTH}
 * characters, leaving room for the names derived from it (its sequence and index) within the 63-byte
 * identifier limit of PostgreSQL; the schema part at most {@value #MAX_SCHEMA_LENGTH}.
 *
 * <p>Lower case only, because PostgreSQL folds unquoted names to lower case: {@code Orders} in a migration
 * script is the table {@code orders}. Refusing upper case avoids two spellings of one table.
 *
 * @param schema the schema, or {@code null} for the search path's first schema
 * @param table the table
 */
public record TableName(@Nullable String schema, String table) {

    /** The longest table part: 63 minus the longest suffix the dialect derives names with. */
    public static final int MAX_TABLE_LENGTH = 48;
    /** The longest schema part. */
    public static final int MAX_SCHEMA_LENGTH = 63;

    private static final Pattern PART = Pattern.compile("[a-z_][a-z0-9_]*");

    public TableName {
        Objects.requireNonNull(table, "table");
        check("table", table, MAX_TABLE_LENGTH, table);
        if (schema != null) {
            check("schema", schema, MAX_SCHEMA_LENGTH, schema + "." + table);
        }
    }

    /**
     * Parses {@code table} or {@code schema.table}.
     *
     * @throws IllegalArgumentException naming the rule the name breaks
     */
    public static TableName parse(String name) {
        Objects.requireNonNull(name, "table name must not be null");
        int dot = name.indexOf('.');
        if (dot < 0) {
            return new TableName(null, name);
        }
        if (name.indexOf('.', dot + 1) >= 0) {
            throw new IllegalArgumentException("Invalid table name '" + printable(name)
                    + "': use 'table' or 'schema.table', with at most one dot");
        }
        return new TableName(name.substring(0, dot), name.substring(dot + 1));
    }

    /** The name as configured: {@code table} or {@code schema.table}. */
    @Override
    public String toString() {
        return schema == null ? table : schema + "." + table;
    }

    private static void check(String part, String value, int maxLength, String whole) {
        if (value.isEmpty() || value.length() > maxLength || !PART.matcher(value).matches()) {
            throw new IllegalArgumentException("Invalid table name '" + printable(whole) + "': the " + part
                    + " part must be 1 to " + maxLength + " characters of a-z, 0-9 and _, not starting with a"
                    + " digit (lower case: PostgreSQL folds unquoted names to lower case)");
        }
    }

    private static String printable(String name) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < name.length() && i < 100; i++) {
            char c = name.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return name.length() > 100 ? out.append('…').toString() : out.toString();
    }
}
