package org.idempotency.micrometer;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.docs.MeterDocumentation;

/**
 * The meters the instrumentation registers itself in a {@code MeterRegistry}, besides the timers of its
 * observations ({@link IdempotencyObservationDocumentation}). Each is registered when the engine creates the
 * operation (or first sees the store), so it reads 0 before the first event.
 */
public enum IdempotencyMeterDocumentation implements MeterDocumentation {

    /** Executions that took over the expired lease of an earlier owner (which crashed or stalled). */
    TAKEOVERS {
        @Override
        public String getName() {
            return "idempotency.lease.takeovers";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.COUNTER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return OperationKeys.values();
        }
    },

    /** Lease renewals the store confirmed. */
    RENEWALS {
        @Override
        public String getName() {
            return "idempotency.lease.renewals";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.COUNTER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return OperationKeys.values();
        }
    },

    /**
     * Leases lost while the work ran (the store refused a renewal, or none was confirmed before the lease ended);
     * a finishing call refused for the same reason ends the execution with the outcome {@code lease-lost}.
     */
    LEASE_LOSSES {
        @Override
        public String getName() {
            return "idempotency.lease.losses";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.COUNTER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return OperationKeys.values();
        }
    },

    /** Executions their caller never finished: open past the maximum execution time, or garbage-collected. */
    LEAKED {
        @Override
        public String getName() {
            return "idempotency.executions.leaked";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.COUNTER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return OperationKeys.values();
        }
    },

    /**
     * Executions in flight: those that own their key and whose work is running, from the acquire (or takeover) to
     * the finishing call. A long task timer: how many there are, and how long the oldest has run.
     */
    RUNNING {
        @Override
        public String getName() {
            return "idempotency.executions.running";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.LONG_TASK_TIMER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return OperationKeys.values();
        }
    },

    /** Expired records removed by the engine's purges (their durations are the {@code purge} store calls). */
    PURGED {
        @Override
        public String getName() {
            return "idempotency.records.purged";
        }

        @Override
        public Meter.Type getType() {
            return Meter.Type.COUNTER;
        }

        @Override
        public KeyName[] getKeyNames() {
            return new KeyName[] {OperationKeys.STORE};
        }
    };

    /** The tags of the per-operation meters. */
    public enum OperationKeys implements KeyName {
        /** The operation's name. */
        OPERATION {
            @Override
            public String asString() {
                return "operation";
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
