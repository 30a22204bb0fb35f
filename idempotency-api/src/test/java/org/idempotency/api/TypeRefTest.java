package org.idempotency.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Type;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class TypeRefTest {

    interface Shapes<T> {
        List<Optional<String>> resolved();

        Map<String, ? extends Number> wildcard();

        List<T> variable();
    }

    private static Type returnType(String method) throws NoSuchMethodException {
        return Shapes.class.getMethod(method).getGenericReturnType();
    }

    @Test
    @DisplayName("a type found by reflection equals the same type captured at compile time")
    void fromReflection() throws Exception {
        TypeRef<?> reflected = TypeRef.of(returnType("resolved"));

        assertThat(reflected).isEqualTo(new TypeRef<List<Optional<String>>>() { });
        assertThat(reflected.type()).isEqualTo(returnType("resolved"));
        assertThat(TypeRef.of((Type) String.class)).isEqualTo(TypeRef.of(String.class));
        assertThat(TypeRef.of(returnType("wildcard")).toString()).isEqualTo(
                "java.util.Map<java.lang.String, ? extends java.lang.Number>");
    }

    @Test
    @DisplayName("a type with a type variable is refused, naming it")
    void variableRefused() {
        assertThatThrownBy(() -> TypeRef.of(returnType("variable")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("java.util.List<T>").hasMessageContaining("type variable T");
    }
}
