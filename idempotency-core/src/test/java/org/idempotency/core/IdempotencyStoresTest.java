package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdempotencyStoresTest {

    @TempDir
    Path dir;

    /** A second provider that claims the name "memory". */
    public static final class ImpostorProvider implements IdempotencyStoreProvider {
        public ImpostorProvider() {
        }

        @Override
        public String name() {
            return "memory";
        }

        @Override
        public IdempotencyStore create(ProviderSettings settings) {
            return InMemoryIdempotencyStore.create();
        }
    }

    /** Another provider with a name of its own. */
    public static final class OtherProvider implements IdempotencyStoreProvider {
        public OtherProvider() {
        }

        @Override
        public String name() {
            return "other";
        }

        @Override
        public IdempotencyStore create(ProviderSettings settings) {
            return InMemoryIdempotencyStore.create();
        }
    }

    private ClassLoader withProviders(String... classNames) throws IOException {
        Path services = dir.resolve("META-INF/services");
        Files.createDirectories(services);
        Files.writeString(services.resolve(IdempotencyStoreProvider.class.getName()), String.join("\n", classNames));
        return new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader());
    }

    @Test
    @DisplayName("finds the in-memory store by name")
    void memoryByName() {
        IdempotencyStore store = IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "memory")));

        assertThat(store).isInstanceOf(InMemoryIdempotencyStore.class);
    }

    @Test
    @DisplayName("uses the only provider when none is named")
    void onlyProvider() {
        assertThat(IdempotencyStores.fromSettings(ProviderSettings.of(Map.of())))
                .isInstanceOf(InMemoryIdempotencyStore.class);
    }

    @Test
    @DisplayName("an unknown name lists the available providers")
    void unknownName() {
        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "redis"))))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("Unknown idempotency store 'redis'")
                .hasMessageContaining("memory (org.idempotency.core.internal.InMemoryStoreProvider)");
    }

    @Test
    @DisplayName("no provider at all is a clear error")
    void noProvider() {
        ClassLoader empty = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader());

        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(Map.of()), empty))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("No idempotency store provider was found");
    }

    @Test
    @DisplayName("two providers with one name are reported with both classes")
    void duplicateNames() throws IOException {
        ClassLoader loader = withProviders(ImpostorProvider.class.getName());

        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "memory")),
                loader))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("Several idempotency store providers are named 'memory'")
                .hasMessageContaining(ImpostorProvider.class.getName())
                .hasMessageContaining("InMemoryStoreProvider");
    }

    @Test
    @DisplayName("several providers and no choice asks for the setting, listing them")
    void ambiguousWithoutChoice() throws IOException {
        ClassLoader loader = withProviders(OtherProvider.class.getName());

        assertThat(IdempotencyStores.availableProviders(loader)).containsExactly("memory", "other");
        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(Map.of()), loader))
                .hasMessageContaining("choose one with the setting 'idempotency.store'")
                .hasMessageContaining("other (");
        assertThat(IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "memory")), loader))
                .isInstanceOf(InMemoryIdempotencyStore.class);
    }

    @Test
    @DisplayName("a provider that cannot be loaded is reported, and the others still work")
    void brokenProvider() throws IOException {
        ClassLoader loader = withProviders("com.example.DoesNotExist");

        assertThat(IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "memory")), loader))
                .isInstanceOf(InMemoryIdempotencyStore.class);
        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "x")),
                loader)).hasMessageContaining("com.example.DoesNotExist");
    }

    @Test
    @DisplayName("a misspelt setting of the provider is an error")
    void unknownSetting() {
        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(
                Map.of("idempotency.store", "memory", "idempotency.memory.size", "10"))))
                .hasMessageContaining("Unknown setting(s) [idempotency.memory.size]");
    }
}
