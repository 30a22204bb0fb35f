package org.idempotency.kafka.internal;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.utils.AppInfoParser;
import org.jspecify.annotations.Nullable;

/**
 * What differs between the kafka-clients versions this module supports (3.9 and newer): the version check,
 * and closing a consumer with a timeout ({@code close(CloseOptions)} since 4.1, {@code close(Duration)} before;
 * the older call is deprecated in 4.x and only made where the newer one does not exist). Stateless.
 */
public final class KafkaClients {

    /** The oldest kafka-clients this module is built and tested for. */
    public static final String MINIMUM_VERSION = "3.9";
    private static final int MINIMUM_MAJOR = 3;
    private static final int MINIMUM_MINOR = 9;
    private static final Pattern MAJOR_MINOR = Pattern.compile("^(\\d+)\\.(\\d+)");

    private static final boolean HAS_CLOSE_OPTIONS = present("org.apache.kafka.clients.consumer.CloseOptions");

    private KafkaClients() {
    }

    /** The version of the kafka-clients jar in use, as it reports itself ({@code unknown} if it cannot tell). */
    public static String version() {
        try {
            return AppInfoParser.getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown";
        }
    }

    /**
     * Fails if the kafka-clients in use is older than {@value #MINIMUM_VERSION}; a version it cannot read is let
     * through.
     *
     * @throws IllegalStateException naming the version found and the one needed
     */
    public static void requireSupported() {
        requireSupported(version());
    }

    /** {@link #requireSupported()} for a given version text. */
    public static void requireSupported(String version) {
        if (!isSupported(version)) {
            throw new IllegalStateException("idempotency-kafka needs kafka-clients " + MINIMUM_VERSION
                    + " or newer, but kafka-clients " + version + " is on the class path; upgrade it (Spring Boot"
                    + " users: set the kafka.version property)");
        }
    }

    /** Whether the version is supported; {@code true} for a version that cannot be read. */
    public static boolean isSupported(@Nullable String version) {
        if (version == null) {
            return true;
        }
        Matcher matcher = MAJOR_MINOR.matcher(version.trim());
        if (!matcher.find()) {
            return true;
        }
        int major = Integer.parseInt(matcher.group(1));
        int minor = Integer.parseInt(matcher.group(2));
        return major > MINIMUM_MAJOR || (major == MINIMUM_MAJOR && minor >= MINIMUM_MINOR);
    }

    /** Closes the consumer, waiting at most {@code timeout} for its final requests. */
    public static void close(Consumer<?, ?> consumer, Duration timeout) {
        if (HAS_CLOSE_OPTIONS) {
            WithCloseOptions.close(consumer, timeout);
        } else {
            closeBefore41(consumer, timeout);
        }
    }

    @SuppressWarnings("deprecation") // the only timed close before kafka-clients 4.1
    private static void closeBefore41(Consumer<?, ?> consumer, Duration timeout) {
        consumer.close(timeout);
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, Consumer.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Loaded only where {@code CloseOptions} exists (kafka-clients 4.1 and newer). */
    private static final class WithCloseOptions {
        static void close(Consumer<?, ?> consumer, Duration timeout) {
            consumer.close(CloseOptions.timeout(timeout));
        }
    }
}
