-- The idempotency records table of idempotency-store-jdbi, for PostgreSQL 11 or newer.
--
-- Plain SQL without placeholders: copy it into your Flyway or Liquibase migrations as it is, or let
-- JdbiIdempotencyStore.createSchema() apply it. The store renders it for a configured table name by
-- replacing every occurrence of idempotency_records (the sequence and the index are named after the table).
-- Every statement is idempotent (IF NOT EXISTS), so applying it twice is harmless.

-- Fencing tokens: one sequence per table, so a token is never issued twice, and the token of a key keeps
-- growing across takeovers, releases and expiries (deleting a row does not reset a sequence).
CREATE SEQUENCE IF NOT EXISTS idempotency_records_fencing_seq AS bigint;

CREATE TABLE IF NOT EXISTS idempotency_records (
    -- operation:key, at most 320 UTF-8 bytes; compared byte by byte ("C"), so case matters
    idempotency_key  varchar(320) COLLATE "C" NOT NULL,
    -- the request hash of the execution that created the record; NULL when the caller skipped the check.
    -- This and the error columns hold text as it is, unless it contains U+0000 or an unpaired surrogate (which
    -- PostgreSQL cannot store) or starts with U+0001: such text is kept as U+0001 followed by the text with
    -- U+0000, U+0001 and unpaired surrogates written as U+0001 and four hex digits
    request_hash     text,
    status           varchar(11)  NOT NULL,
    fencing_token    bigint       NOT NULL,
    -- 1 for the first owner, plus one for each takeover of an expired lease
    attempt          integer      NOT NULL DEFAULT 1,
    created_at       timestamptz  NOT NULL DEFAULT statement_timestamp(),
    -- IN_PROGRESS: when the lease of the owner ends; NULL once finished
    lease_expires_at timestamptz,
    -- when the record stops being visible: lease end plus one lease (IN_PROGRESS), end of retention (finished)
    expires_at       timestamptz  NOT NULL,
    -- COMPLETED: the application status code (0 for none) and the encoded result (NULL: the result was not kept)
    status_code      integer,
    response         bytea,
    -- FAILED: the error type (at most 255 characters) and message (at most 2,000) of a permanent failure,
    -- longer here when written as above
    error_type       text,
    error_message    text,
    PRIMARY KEY (idempotency_key),
    CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')),
    CHECK (status <> 'IN_PROGRESS' OR lease_expires_at IS NOT NULL),
    CHECK (status <> 'FAILED' OR error_type IS NOT NULL)
);

-- Dropping the table drops its sequence.
ALTER SEQUENCE idempotency_records_fencing_seq OWNED BY idempotency_records.fencing_token;

-- Purging finds expired records by this index.
CREATE INDEX IF NOT EXISTS idempotency_records_expires_at_idx ON idempotency_records (expires_at);
