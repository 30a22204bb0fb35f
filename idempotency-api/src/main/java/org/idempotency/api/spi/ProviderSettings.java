package org.idempotency.api.spi;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.idempotency.api.IdempotencyConfigurationException;

/**
 * String settings handed to an {@link IdempotencyStoreProvider}, with typed accessors whose errors name the
 * setting, the value and what is accepted. Values of settings whose name contains {@code password} or
 * {@code secret} are never repeated in messages.
 *
 * <p>Immutable and thread-safe.
 */
public final class ProviderSettings {

    /** The setting that chooses a provider by name. */
    public static final String STORE = "idempotency.store";

    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private final Map<String, String> values;

    private ProviderSettings(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    /**
     * Settings from a map of strings.
     *
     * @param values setting names and values; copied
     * @return the settings
     */
    public static ProviderSettings of(Map<String, String> values) {
        return new ProviderSettings(values);
    }

    /**
     * Settings from {@link Properties}, such as a loaded {@code .properties} file or system properties.
     *
     * @param properties the properties; their string entries are copied
     * @return the settings
     */
    public static ProviderSettings of(Properties properties) {
        Map<String, String> values = new TreeMap<>();
        for (String name : properties.stringPropertyNames()) {
            values.put(name, properties.getProperty(name));
        }
        return new ProviderSettings(values);
    }

    /**
     * All settings, sorted by name.
     *
     * @return an unmodifiable map
     */
    public Map<String, String> asMap() {
        return values;
    }

    /**
     * A setting's trimmed value, if present and not blank.
     *
     * @param name the setting
     * @return its value, or empty
     */
    public Optional<String> get(String name) {
        String value = values.get(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /**
     * A setting that must be present.
     *
     * @param name the setting
     * @return its trimmed value
     * @throws IdempotencyConfigurationException if it is missing or blank, naming it
     */
    public String require(String name) {
        return get(name).orElseThrow(() -> new IdempotencyConfigurationException(
                "Missing setting '" + name + "': it is required"
                        + get(STORE).map(store -> " by the '" + store + "' store").orElse("")));
    }

    /**
     * A whole number, within bounds.
     *
     * @param name the setting
     * @param defaultValue the value when the setting is absent
     * @param min the smallest value accepted
     * @param max the largest value accepted
     * @return the value
     * @throws IdempotencyConfigurationException if the value is not a whole number within the bounds
     */
    public int integer(String name, int defaultValue, int min, int max) {
        Optional<String> raw = get(name);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        try {
            int value = Integer.parseInt(raw.get());
            if (value < min || value > max) {
                throw malformed(name, raw.get(), "a whole number from " + min + " to " + max);
            }
            return value;
        } catch (NumberFormatException e) {
            throw malformed(name, raw.get(), "a whole number from " + min + " to " + max);
        }
    }

    /**
     * A positive duration: ISO-8601 ({@code PT30S}) or a number with a unit ({@code 500ms}, {@code 30s},
     * {@code 5m}, {@code 24h}, {@code 7d}).
     *
     * @param name the setting
     * @param defaultValue the value when the setting is absent
     * @return the duration
     * @throws IdempotencyConfigurationException if the value is not a positive duration in either form
     */
    public Duration duration(String name, Duration defaultValue) {
        Optional<String> raw = get(name);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        Duration parsed = parseDuration(raw.get());
        if (parsed == null || parsed.isNegative() || parsed.isZero()) {
            throw malformed(name, raw.get(), "a positive duration such as PT30S, 500ms, 30s, 5m, 24h or 7d");
        }
        return parsed;
    }

    /**
     * A comma-separated list, trimmed, without empty elements; empty if the setting is absent.
     *
     * @param name the setting
     * @return the elements, unmodifiable
     */
    public List<String> list(String name) {
        List<String> out = new ArrayList<>();
        get(name).ifPresent(raw -> {
            for (String part : raw.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        });
        return List.copyOf(out);
    }

    /**
     * Fails if a setting under {@code prefix} is not one of {@code known}: a misspelt setting is an error,
     * not a silently ignored line.
     *
     * @param prefix the prefix of a provider's settings, such as {@code idempotency.redis.}
     * @param known the provider's setting names, prefix included
     * @throws IdempotencyConfigurationException listing the unknown settings and the known ones
     */
    public void rejectUnknown(String prefix, Set<String> known) {
        Set<String> unknown = new TreeSet<>();
        for (String name : values.keySet()) {
            if (name.startsWith(prefix) && !known.contains(name)) {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IdempotencyConfigurationException("Unknown setting(s) " + unknown + "; the settings under '"
                    + prefix + "' are " + new TreeSet<>(known));
        }
    }

    /**
     * An error for a malformed value, naming the setting, the value (unless secret) and what is accepted.
     *
     * @param name the setting
     * @param value its value; shown only if the name does not suggest a secret
     * @param expected what is accepted, such as {@code a whole number from 0 to 15}
     * @return the exception, for the caller to throw
     */
    public IdempotencyConfigurationException malformed(String name, String value, String expected) {
        String shown = isSecret(name) ? "<hidden>" : "'" + value + "'";
        return new IdempotencyConfigurationException(
                "Malformed setting '" + name + "' = " + shown + ": expected " + expected);
    }

    private static boolean isSecret(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.contains("password") || lower.contains("secret");
    }

    private static Duration parseDuration(String raw) {
        Matcher m = SHORT_DURATION.matcher(raw.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            long amount;
            try {
                amount = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                return null;
            }
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }
        try {
            return Duration.parse(raw);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("ProviderSettings{");
        values.forEach((name, value) -> out.append(name).append('=')
                .append(isSecret(name) ? "<hidden>" : value).append(", "));
        if (!values.isEmpty()) {
            out.setLength(out.length() - 2);
        }
        return out.append('}').toString();
    }
}
