/** Implementation details of the servlet filter; not exported, not API. */
@NullMarked
package org.idempotency.servlet.internal;

import org.jspecify.annotations.NullMarked;
