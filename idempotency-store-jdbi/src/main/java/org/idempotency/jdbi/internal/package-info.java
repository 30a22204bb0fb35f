/**
 * Implementation details of the Jdbi store: the SQL dialects, row reading, table names and the provider. Not
 * exported; nothing here is API.
 */
@NullMarked
package org.idempotency.jdbi.internal;

import org.jspecify.annotations.NullMarked;
