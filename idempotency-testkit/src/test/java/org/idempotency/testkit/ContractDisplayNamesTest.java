package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Every contract case is named after the test class that runs it, so a report says which store a case ran on
 * ({@code InMemoryStoreContractTest > racing operations > ...}). A case given a {@code @DisplayName} instead of a
 * {@code @SentenceFragment} loses the store's name: this test says which.
 */
class ContractDisplayNamesTest {

    private static final List<String> CONTRACT_TESTS = List.of(
            InMemoryStoreContractTest.class.getName(),
            InMemoryBatchAcquireContractTest.class.getName(),
            InMemoryBatchExtendContractTest.class.getName(),
            InMemoryBatchCompleteContractTest.class.getName(),
            InMemoryForgetContractTest.class.getName(),
            InMemoryExecutionContractTest.class.getName(),
            "com.example.store.LockedMapStoreContractTest",
            "com.example.store.LockedMapStoreExecutionTest");

    @Test
    void everyContractCaseNamesItsTestClass() {
        for (String className : CONTRACT_TESTS) {
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                    .selectors(selectClass(className)).build();
            TestPlan plan = LauncherFactory.create().discover(request);
            String prefix = className.substring(className.lastIndexOf('.') + 1) + " > ";
            List<String> cases = new ArrayList<>();
            List<String> unnamed = new ArrayList<>();
            for (TestIdentifier root : plan.getRoots()) {
                for (TestIdentifier test : plan.getDescendants(root)) {
                    if (test.isTest()) {
                        cases.add(test.getDisplayName());
                        if (!test.getDisplayName().startsWith(prefix)) {
                            unnamed.add(test.getDisplayName() + " (" + test.getLegacyReportingName() + ")");
                        }
                    }
                }
            }

            assertThat(cases).as("contract cases of %s", className).hasSizeGreaterThan(10);
            assertThat(unnamed).as("cases of %s not named after it (use @SentenceFragment, not @DisplayName)",
                    className).isEmpty();
        }
    }
}
