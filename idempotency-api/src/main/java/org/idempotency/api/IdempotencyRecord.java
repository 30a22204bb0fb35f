package org.idempotency.api;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of one stored idempotency record, as a store returned it.
 *
 * <p>Which fields are set depends on the status, and the constructor checks it: an {@link
 * RecordStatus#IN_PROGRESS} record has a {@code leaseExpiresAt} and neither result nor failure; a {@link
 * RecordStatus#COMPLETED} record has a result (possibly "not kept"); a {@link RecordStatus#FAILED} record has
 * a failure. {@code expiresAt} is when the record stops being visible: for an in-progress record, one lease
 * after its lease ends (the takeover window); for a finished record, the end of its retention.
 *
 * @param key the stored key ({@code operation:key} when written by the core)
 * @param requestHash the hash of the request that created the record, or {@code null} if none was given
 * @param status the record's state
 * @param fencingToken the token of the execution that owns (or finished) the record
 * @param expiresAt when the record becomes invisible, by the store's clock
 * @param leaseExpiresAt when the owner's lease ends, by the store's clock; only for in-progress records
 * @param result the stored result; only for completed records
 * @param failure the stored failure; only for failed records
 */
public record IdempotencyRecord(
        String key,
        @Nullable String requestHash,
        RecordStatus status,
        long fencingToken,
        Instant expiresAt,
        @Nullable Instant leaseExpiresAt,
        @Nullable StoredResult result,
        @Nullable StoredFailure failure) {

    /**
     * Checks that the fields fit the status, as described above.
     *
     * @param key the stored key ({@code operation:key} when written by the core)
     * @param requestHash the hash of the request that created the record, or {@code null} if none was given
     * @param status the record's state
     * @param fencingToken the token of the execution that owns (or finished) the record
     * @param expiresAt when the record becomes invisible, by the store's clock
     * @param leaseExpiresAt when the owner's lease ends, by the store's clock; only for in-progress records
     * @param result the stored result; only for completed records
     * @param failure the stored failure; only for failed records
     * @throws NullPointerException if {@code key}, {@code status} or {@code expiresAt} is null
     * @throws IllegalArgumentException if the lease, result and failure do not fit the status
     */
    public IdempotencyRecord {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(expiresAt, "expiresAt");
        boolean consistent = switch (status) {
            case IN_PROGRESS -> leaseExpiresAt != null && result == null && failure == null;
            case COMPLETED -> result != null && failure == null;
            case FAILED -> failure != null && result == null;
        };
        if (!consistent) {
            throw new IllegalArgumentException("inconsistent " + status + " record for key '"
                    + IdempotencyException.safeKey(key) + "': lease=" + leaseExpiresAt + ", result=" + result
                    + ", failure=" + failure);
        }
    }

    /**
     * A record for work that is running under a lease.
     *
     * @param key the stored key
     * @param requestHash the request's hash, or {@code null}
     * @param fencingToken the owner's fencing token
     * @param leaseExpiresAt when the owner's lease ends
     * @param expiresAt when the record becomes invisible
     * @return the record
     */
    public static IdempotencyRecord inProgress(String key, @Nullable String requestHash, long fencingToken,
            Instant leaseExpiresAt, Instant expiresAt) {
        return new IdempotencyRecord(key, requestHash, RecordStatus.IN_PROGRESS, fencingToken, expiresAt,
                leaseExpiresAt, null, null);
    }

    /**
     * A record for work that completed.
     *
     * @param key the stored key
     * @param requestHash the request's hash, or {@code null}
     * @param fencingToken the fencing token of the execution that completed it
     * @param result the stored result, possibly {@link StoredResult#notKept()}
     * @param expiresAt the end of its retention
     * @return the record
     */
    public static IdempotencyRecord completed(String key, @Nullable String requestHash, long fencingToken,
            StoredResult result, Instant expiresAt) {
        return new IdempotencyRecord(key, requestHash, RecordStatus.COMPLETED, fencingToken, expiresAt, null,
                result, null);
    }

    /**
     * A record for work that failed permanently.
     *
     * @param key the stored key
     * @param requestHash the request's hash, or {@code null}
     * @param fencingToken the fencing token of the execution that failed
     * @param failure the recorded failure
     * @param expiresAt the end of its retention
     * @return the record
     */
    public static IdempotencyRecord failed(String key, @Nullable String requestHash, long fencingToken,
            StoredFailure failure, Instant expiresAt) {
        return new IdempotencyRecord(key, requestHash, RecordStatus.FAILED, fencingToken, expiresAt, null, null,
                failure);
    }

    /**
     * Whether a caller's request hash is compatible with this record's. A {@code null} on either side means
     * "do not check" and matches anything; otherwise the hashes must be equal. Stores use the same rule to
     * decide whether an expired lease may be taken over.
     *
     * @param otherHash a caller's request hash, or {@code null}
     * @return whether the caller's request may be treated as the same request
     */
    public boolean matchesRequest(@Nullable String otherHash) {
        return hashesMatch(requestHash, otherHash);
    }

    /**
     * The request-hash rule shared by the core and every store: null matches anything, else equality.
     *
     * @param storedHash the hash stored with a record, or {@code null}
     * @param givenHash a caller's hash, or {@code null}
     * @return whether the two are compatible
     */
    public static boolean hashesMatch(@Nullable String storedHash, @Nullable String givenHash) {
        return storedHash == null || givenHash == null || storedHash.equals(givenHash);
    }
}
