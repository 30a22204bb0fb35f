package com.example.orders.billing;

/** A result type in a package the module does not open to Jackson: the codec must refuse it up front. */
public record Invoice(String id, long cents) {
}
