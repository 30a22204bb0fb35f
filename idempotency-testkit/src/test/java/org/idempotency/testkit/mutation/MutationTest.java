package org.idempotency.testkit.mutation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectNestedClass;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.BatchAcquireContract;
import org.idempotency.testkit.BatchExtendContract;
import org.idempotency.testkit.IdempotencyExecutionContract;
import org.idempotency.testkit.IdempotencyStoreContract;
import org.idempotency.testkit.ManualClock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mutation suite: the kit's contracts run, through the JUnit Platform launcher, against {@link ReferenceStore}
 * and each of its {@link Variant variants}. The correct store and its correct variations fail no case; every
 * variant with a bug fails each case its {@link Variant#caughtBy()} names. A hole found in the kit is pinned down
 * by adding the bug as a variant with the case that now catches it.
 *
 * <p>The store contracts run on a manual clock standing years away from the machine's; the execution contract's
 * batch-claim and renewal-race cases run on the real clock, for the variants whose bug shows through the engine
 * and for the correct ones.
 */
class MutationTest {

    private static final Logger LOG = LoggerFactory.getLogger(MutationTest.class);
    private static final Instant ELSEWHEN = Instant.parse("2041-03-07T10:15:30.123Z");

    /** The variant the runners below build their stores from; set before each launch. */
    private static volatile Variant current = Variant.CORRECT;

    // The runners are nested, so Surefire does not run them on their own (it skips nested classes); the launcher
    // selects them.

    static class StoreContractRunner extends IdempotencyStoreContract {
        private final ManualClock clock = ManualClock.at(ELSEWHEN);

        @Override
        protected IdempotencyStore createStore() {
            return new ReferenceStore(current, clock);
        }

        @Override
        protected void elapse(Duration duration) {
            clock.advance(duration);
        }
    }

    static class BatchAcquireRunner extends BatchAcquireContract {
        private final ManualClock clock = ManualClock.at(ELSEWHEN);

        @Override
        protected BatchAcquiringIdempotencyStore createStore() {
            return new ReferenceStore(current, clock);
        }

        @Override
        protected void elapse(Duration duration) {
            clock.advance(duration);
        }
    }

    static class BatchExtendRunner extends BatchExtendContract {
        private final ManualClock clock = ManualClock.at(ELSEWHEN);

        @Override
        protected BatchExtendingIdempotencyStore createStore() {
            return new ReferenceStore(current, clock);
        }

        @Override
        protected void elapse(Duration duration) {
            clock.advance(duration);
        }
    }

    static class ExecutionRunner extends IdempotencyExecutionContract {
        @Override
        protected IdempotencyStore createStore() {
            return new ReferenceStore(current, InstantSource.system());
        }
    }

    /**
     * Runs the contracts against one variant, {@code -Dkit.mutation.rounds} times (default once): repeating them
     * measures whether the race cases catch the non-atomic variants in every run.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Variant.class)
    void variant(Variant variant) throws Exception {
        int rounds = Integer.getInteger("kit.mutation.rounds", 1);
        for (int round = 1; round <= rounds; round++) {
            Outcome outcome = run(variant);

            LOG.info("{} (round {} of {}): {} cases run, failed: {}", variant, round, rounds, outcome.run,
                    outcome.failed);
            assertThat(outcome.run).as("cases run").isGreaterThanOrEqualTo(80);
            if (variant.correct()) {
                assertThat(outcome.failed).as("cases failed by the correct store (%s), round %d", variant, round)
                        .isEmpty();
            } else {
                assertThat(outcome.failed).as("cases failed by a store whose %s, round %d", variant.bug(), round)
                        .containsAll(variant.caughtBy());
            }
        }
    }

    /** How many cases ran, and which failed, as {@code DeclaringClass.method} (or the container that failed). */
    record Outcome(int run, Set<String> failed) {
    }

    static Outcome run(Variant variant) throws ClassNotFoundException {
        List<DiscoverySelector> selectors = new ArrayList<>(List.of(selectClass(StoreContractRunner.class),
                selectClass(BatchAcquireRunner.class), selectClass(BatchExtendRunner.class)));
        if (variant.correct() || variant.needsExecutionContract()) {
            for (String nested : List.of("BatchClaims", "RenewalRaces")) {
                selectors.add(selectNestedClass(List.of(ExecutionRunner.class),
                        Class.forName(IdempotencyExecutionContract.class.getName() + "$" + nested)));
            }
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Set<String> failed = new TreeSet<>();
        AtomicInteger run = new AtomicInteger();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                if (test.isTest()) {
                    run.incrementAndGet();
                }
                if (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                    return;
                }
                failed.add(test.getSource().filter(MethodSource.class::isInstance).map(MethodSource.class::cast)
                        .map(m -> m.getJavaMethod().getDeclaringClass().getSimpleName() + "." + m.getMethodName())
                        .orElse("container " + test.getDisplayName()));
            }
        };
        current = variant;
        try {
            Launcher launcher = LauncherFactory.create();
            launcher.execute(request, listener);
        } finally {
            current = Variant.CORRECT;
        }
        return new Outcome(run.get(), failed);
    }
}
