package org.idempotency.spring.boot;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/** The stored form of a controller key, as the annotation scopes it, for looking records up in tests. */
final class IdempotencyKeysForTests {

    private IdempotencyKeysForTests() {
    }

    static String scopedForPrincipal(String principal, String key) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256")
                .digest(("principal:" + principal).getBytes(StandardCharsets.UTF_8));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(digest) + ":" + key;
    }
}
