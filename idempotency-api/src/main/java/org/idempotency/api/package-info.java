/**
 * Value types, exceptions, the listener and the codec interface of the idempotency library.
 * Every type here is immutable and thread-safe unless its documentation says otherwise.
 */
@NullMarked
package org.idempotency.api;

import org.jspecify.annotations.NullMarked;
