/** Implementation details of the core; not exported, not API. */
@NullMarked
package org.idempotency.core.internal;

import org.jspecify.annotations.NullMarked;
