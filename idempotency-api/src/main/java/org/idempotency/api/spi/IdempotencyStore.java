package org.idempotency.api.spi;

import java.time.Duration;
import java.util.Optional;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.jspecify.annotations.Nullable;

/**
 * Where idempotency records live. This interface is the whole contract a store implements; the test kit's
 * {@code IdempotencyStoreContract} checks every rule below with at least one case (and {@code BatchAcquireContract},
 * {@code BatchExtendContract}, {@code BatchCompleteContract} and {@code ForgetContract} those of the optional
 * abilities).
 *
 * <h2>Rules every implementation keeps</h2>
 * <ul>
 *   <li><b>Atomic, one round trip.</b> Each method is one atomic step against the backing service: the check of
 *       a record and the change it allows happen together, never as a read followed by a write in another
 *       round trip. A renewal racing its owner's completion never undoes the completion; a late owner's
 *       complete, fail, release or extend racing a takeover either wins, and the takeover does not happen, or
 *       changes nothing.</li>
 *   <li><b>Contention is a value.</b> Losing a race is reported through the return value; exceptions are only
 *       for faults, as {@link IdempotencyStoreException} wrapping the cause.</li>
 *   <li><b>The store's clock decides.</b> Lease and expiry decisions use the store's authoritative clock (the
 *       server's time for remote stores), never the caller's; the instants a store returns are by that clock,
 *       which need not agree with the caller's.</li>
 *   <li><b>Visibility.</b> A record is visible until its {@code expiresAt}. An in-progress record's lease ends
 *       at {@code now + lease}; the record stays visible, and can be taken over, for one more lease (the
 *       takeover window), so {@code expiresAt = leaseExpiresAt + lease}: {@link #find} shows it, and its owner
 *       may still complete, fail, release or extend it while no one has taken it over. A completed or failed
 *       record is visible for its retention. Invisible records behave exactly like absent ones in every method,
 *       even before they are physically removed: they cannot be completed, failed, released or extended, and an
 *       acquire of their key starts afresh whatever the request hash.</li>
 *   <li><b>Fencing tokens</b> are positive and strictly increase for a key, and are never reused for it, even
 *       after the record was released, expired, purged and re-created. Only the current token may complete,
 *       fail, release or extend a record. Tokens of different keys are unrelated: they may repeat across
 *       keys.</li>
 *   <li><b>Request hashes</b> are arbitrary strings, stored and returned exactly as given, and compared with
 *       {@link IdempotencyRecord#hashesMatch}: equal character for character (case matters), or {@code null}
 *       on either side, which matches anything. A record stored without a hash is therefore taken over by a
 *       caller with any hash; a takeover keeps the record's hash.</li>
 *   <li><b>Failures</b> are kept whole: a type of up to {@value StoredFailure#MAX_TYPE_LENGTH} and a message of up
 *       to {@value StoredFailure#MAX_MESSAGE_LENGTH} characters, any Unicode, come back as they were given.</li>
 *   <li>Keys arrive validated (non-blank, at most {@value #MAX_KEY_BYTES} UTF-8 bytes, no control
 *       characters, well-formed Unicode: no unpaired surrogates, so their UTF-8 encoding is exact); stores need
 *       not validate them again, and compare them exactly. Payloads are arbitrary bytes.</li>
 * </ul>
 *
 * <p>Implementations are thread-safe.
 */
public interface IdempotencyStore {

    /** The longest stored key, in UTF-8 bytes, that every store accepts: a 255-byte key and its namespace. */
    int MAX_KEY_BYTES = 320;

    /**
     * Claims a key. If no visible record exists, creates an in-progress record with a new fencing token and a
     * lease of {@code lease}, and returns {@link AcquireResult.Acquired}. If a visible in-progress record's
     * lease has ended and its request hash matches, hands it over with a new, larger token
     * ({@code Acquired(token, takeover=true)}), keeping its request hash; exactly one of several concurrent
     * callers wins. Otherwise returns the record as {@link AcquireResult.Existing} and changes nothing.
     *
     * @param key the stored key
     * @param requestHash the caller's request hash, or {@code null} to skip the check
     * @param lease how long the new owner's lease lasts; positive
     * @return {@link AcquireResult.Acquired} if the caller now owns the key, else the record that holds it
     * @throws IdempotencyStoreException if the store fails
     */
    AcquireResult acquire(String key, @Nullable String requestHash, Duration lease);

    /**
     * Marks the record completed with {@code result}, visible for {@code retention} from now, if
     * {@code fencingToken} is still the record's token (even if the lease itself has ended, as long as no
     * one took over).
     *
     * @param key the stored key
     * @param fencingToken the token the caller owns the record by
     * @param result the result to keep
     * @param retention how long the completed record stays visible; positive
     * @return {@code true} if the record was completed; {@code false} if it is gone or owned by another
     *     token (nothing changed)
     * @throws IdempotencyStoreException if the store fails
     */
    boolean complete(String key, long fencingToken, StoredResult result, Duration retention);

    /**
     * Marks the record failed with {@code failure}, visible for {@code retention} from now, under the same
     * token rule as {@link #complete}.
     *
     * @param key the stored key
     * @param fencingToken the token the caller owns the record by
     * @param failure the failure to keep
     * @param retention how long the failed record stays visible; positive
     * @return {@code true} if the record was marked failed; {@code false} if not owned (nothing changed)
     * @throws IdempotencyStoreException if the store fails
     */
    boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention);

    /**
     * Deletes an in-progress record owned by {@code fencingToken}, so the next acquire creates a fresh one.
     * The token is not reused afterwards.
     *
     * @param key the stored key
     * @param fencingToken the token the caller owns the record by
     * @return {@code true} if the record was deleted; {@code false} if not owned (nothing changed)
     * @throws IdempotencyStoreException if the store fails
     */
    boolean release(String key, long fencingToken);

    /**
     * Renews the lease of an in-progress record owned by {@code fencingToken}: it now ends {@code lease}
     * from now (and the record stays visible one lease longer). Like {@link #complete}, the owner may renew a
     * lease that has ended, as long as no one took it over and the record is still visible.
     *
     * @param key the stored key
     * @param fencingToken the token the caller owns the record by
     * @param lease the new lease, from now; positive
     * @return {@code true} if the lease was renewed; {@code false} if not owned or no longer in progress
     * @throws IdempotencyStoreException if the store fails
     */
    boolean extend(String key, long fencingToken, Duration lease);

    /**
     * Reads a record for inspection, without changing it: an in-progress record in its takeover window is
     * shown (and can still be taken over afterwards).
     *
     * @param key the stored key
     * @return the visible record, or empty if there is none
     * @throws IdempotencyStoreException if the store fails
     */
    Optional<IdempotencyRecord> find(String key);
}
