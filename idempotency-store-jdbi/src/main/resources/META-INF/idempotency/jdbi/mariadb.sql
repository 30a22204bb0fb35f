-- The idempotency records table of idempotency-store-jdbi, for MariaDB 10.6 or newer (InnoDB).
--
-- Plain SQL without placeholders: copy it into your Flyway or Liquibase migrations as it is, or let
-- JdbiIdempotencyStore.createSchema() apply it. The store renders it for a configured table name by
-- replacing every occurrence of idempotency_records (the sequence and the index are named after the table).
-- Every statement is idempotent (IF NOT EXISTS), so applying it twice is harmless.
-- Times are UTC, written and compared with UTC_TIMESTAMP(6), whatever the session time zone.

-- Fencing tokens: one sequence per table, so a token is never issued twice, and the token of a key keeps
-- growing across takeovers, releases and expiries (deleting a row does not reset a sequence). A sequence is
-- not transactional and hands out values from a cache without locking any row. Never restart it.
CREATE SEQUENCE IF NOT EXISTS idempotency_records_fencing_seq
    START WITH 1 INCREMENT BY 1 MINVALUE 1 NO MAXVALUE CACHE 1000 NOCYCLE;

CREATE TABLE IF NOT EXISTS idempotency_records (
    -- operation:key, at most 320 UTF-8 bytes, kept and compared as bytes, so case and trailing spaces matter
    idempotency_key  VARBINARY(320) NOT NULL,
    -- the request hash of the execution that created the record, NULL when the caller skipped the check.
    -- This and the error columns compare exactly (a binary collation without padding). They hold text as it
    -- is, unless it contains U+0000 or an unpaired surrogate or starts with U+0001: such text is kept as
    -- U+0001 followed by the text with U+0000, U+0001 and unpaired surrogates written as U+0001 and four hex
    -- digits
    request_hash     MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    status           VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    fencing_token    BIGINT NOT NULL,
    -- 1 for the first owner, plus one for each takeover of an expired lease
    attempt          INT NOT NULL DEFAULT 1,
    created_at       DATETIME(6) NOT NULL,
    -- IN_PROGRESS: when the lease of the owner ends, NULL once finished
    lease_expires_at DATETIME(6) NULL,
    -- when the record stops being visible: lease end plus one lease (IN_PROGRESS), end of retention (finished)
    expires_at       DATETIME(6) NOT NULL,
    -- COMPLETED: the application status code (0 for none) and the encoded result (NULL: the result was not kept)
    status_code      INT NULL,
    response         LONGBLOB NULL,
    -- FAILED: the error type (at most 255 characters) and message (at most 2,000) of a permanent failure,
    -- longer here when written as above
    error_type       MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    error_message    MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    PRIMARY KEY (idempotency_key),
    -- purging finds expired records by this index
    KEY idempotency_records_expires_at_idx (expires_at),
    CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')),
    CHECK (status <> 'IN_PROGRESS' OR lease_expires_at IS NOT NULL),
    CHECK (status <> 'FAILED' OR error_type IS NOT NULL)
) ENGINE = InnoDB;
