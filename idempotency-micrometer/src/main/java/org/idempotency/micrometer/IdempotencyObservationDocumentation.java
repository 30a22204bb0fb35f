package org.idempotency.micrometer;

import io.micrometer.common.docs.KeyName;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;
import io.micrometer.observation.docs.ObservationDocumentation;

/**
 * The observations the instrumentation makes, their names and their keys. With an observation handler for meters
 * (such as Micrometer's {@code DefaultMeterObservationHandler}) each becomes a timer of the same name whose tags
 * are the low-cardinality keys plus {@code error}; with Micrometer Tracing each becomes a span.
 */
public enum IdempotencyObservationDocumentation implements ObservationDocumentation {

    /**
     * One execution: {@code execute}, {@code call}, {@code run}, {@code begin} until the execution is finished,
     * or one key of {@code beginAll}. Named {@code idempotency.execution}; the span is named
     * {@code idempotency <operation>}.
     */
    EXECUTION {
        @Override
        public Class<? extends ObservationConvention<? extends Observation.Context>> getDefaultConvention() {
            return DefaultIdempotencyExecutionConvention.class;
        }

        @Override
        public KeyName[] getLowCardinalityKeyNames() {
            return ExecutionKeys.values();
        }

        @Override
        public KeyName[] getHighCardinalityKeyNames() {
            return ExecutionSpanKeys.values();
        }
    },

    /**
     * One store call, a child of the execution it is made for (acquire, complete, fail, release, extend), or of
     * whatever is current when it belongs to none (find, batch calls, purges, the release of a garbage-collected
     * execution's key). Named {@code idempotency.store.call}; the span is named {@code idempotency <call>}.
     */
    STORE_CALL {
        @Override
        public Class<? extends ObservationConvention<? extends Observation.Context>> getDefaultConvention() {
            return DefaultIdempotencyStoreCallConvention.class;
        }

        @Override
        public KeyName[] getLowCardinalityKeyNames() {
            return StoreCallKeys.values();
        }
    };

    /** The low-cardinality keys of {@link #EXECUTION}: tags of its timer and attributes of its span. */
    public enum ExecutionKeys implements KeyName {
        /** The operation's name. */
        OPERATION {
            @Override
            public String asString() {
                return "operation";
            }
        },
        /**
         * How the execution ended: {@code executed}, {@code replayed}, {@code in-progress}, {@code key-reused},
         * {@code failure-recorded}, {@code failure-replayed}, {@code released}, {@code not-kept},
         * {@code store-error}, {@code unprotected}, {@code lease-lost} or {@code leaked}.
         */
        OUTCOME {
            @Override
            public String asString() {
                return "outcome";
            }
        },
        /** The store's name: {@code memory}, {@code redis}, {@code jdbi}, or as configured. */
        STORE {
            @Override
            public String asString() {
                return "store";
            }
        }
    }

    /** The keys of {@link #EXECUTION} that only spans carry. */
    public enum ExecutionSpanKeys implements KeyName {
        /** {@code true} when the execution took over an expired lease of an earlier owner; absent otherwise. */
        TAKEOVER {
            @Override
            public String asString() {
                return "idempotency.takeover";
            }
        }
    }

    /** The low-cardinality keys of {@link #STORE_CALL}. */
    public enum StoreCallKeys implements KeyName {
        /**
         * What is called: {@code acquire}, {@code acquire-all}, {@code complete}, {@code fail}, {@code release},
         * {@code extend}, {@code extend-all}, {@code find} or {@code purge}.
         */
        CALL {
            @Override
            public String asString() {
                return "call";
            }
        },
        /**
         * What it answered: {@code acquired}, {@code taken-over} or {@code existing} (acquire); {@code done} or
         * {@code not-owned} (complete, fail, release, extend; batch calls and purges are {@code done});
         * {@code found} or {@code absent} (find); {@code error} when it threw.
         */
        RESULT {
            @Override
            public String asString() {
                return "result";
            }
        },
        /** The store's name. */
        STORE {
            @Override
            public String asString() {
                return "store";
            }
        }
    }
}
