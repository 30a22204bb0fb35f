package com.example.quickstart;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.*;
import org.idempotency.api.spi.*;
import org.idempotency.core.*;

/**
 * Runs the README's quick start in a project of its own. prebuild.groovy replaces the marker line below with the
 * README's Java snippet; the declarations around it are the names that snippet uses (the same as in
 * ReadmeQuickStartTest): when the quick start changes its names, change them here too.
 */
public final class QuickStart {

    public record Receipt(String id, long amountCents) {
    }

    static final class Payments {
        final AtomicInteger charges = new AtomicInteger();

        Receipt charge(long amountCents) {
            return new Receipt("rcpt-" + charges.incrementAndGet(), amountCents);
        }
    }

    public static void main(String[] args) throws Exception {
        Payments payments = new Payments();
        String idempotencyKey = "3f1c9a2e-charge";
        byte[] requestBody = "{\"amountCents\": 1999}".getBytes(StandardCharsets.UTF_8);
        long amount = 1999;
        Receipt receipt;
        Receipt again;

        // README quick start

        if (!again.equals(receipt) || payments.charges.get() != 1) {
            throw new AssertionError("The quick start charged " + payments.charges.get() + " times and returned "
                    + receipt + ", then " + again);
        }
        System.out.println("Quick start: charged once, the duplicate got the same receipt: " + again);
    }
}
