package org.idempotency.kafka.jdbi;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

/**
 * Stops the test JVM's shared Kafka broker once every test has run, while the JVM is still alive (registered
 * in {@code META-INF/services}); see {@link KafkaTestBroker#stopShared()} for why a shutdown hook will not do.
 */
public final class StopSharedBroker implements TestExecutionListener {

    /** Created by the JUnit Platform launcher. */
    public StopSharedBroker() {
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        KafkaTestBroker.stopShared();
    }
}
