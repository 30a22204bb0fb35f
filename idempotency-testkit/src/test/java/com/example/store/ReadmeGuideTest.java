package com.example.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The guide's "implement your own store" guide shows these test classes verbatim. */
class ReadmeGuideTest {

    @Test
    void readmeShowsTheContractTestsOfTheExampleStore() throws IOException {
        String readme = Files.readString(Path.of("..", "docs", "testkit.md"));

        assertThat(readme).contains(tagged("LockedMapStoreContractTest.java", "store-contract"));
        assertThat(readme).contains(tagged("LockedMapStoreExecutionTest.java", "execution-contract"));
    }

    private static String tagged(String file, String tag) throws IOException {
        String source = Files.readString(Path.of("src/test/java/com/example/store", file));
        String start = "// tag::" + tag + "[]\n";
        return source.substring(source.indexOf(start) + start.length(), source.indexOf("// end::" + tag + "[]"))
                .stripTrailing();
    }
}
