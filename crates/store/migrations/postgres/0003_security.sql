-- ward-store schema 3 (PostgreSQL): the server's security state — users, tokens, lockout states
-- and the hash-chained audit log with its anchor.

-- `password_phc` is an argon2id PHC string (ward-auth); `role` a ward-auth role name.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    password_phc  TEXT NOT NULL,
    created       TIMESTAMPTZ NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

-- API tokens (owned by a user, with scopes), agent credentials (owned by a host) and one-time
-- enrollment tokens (owned by nobody). `hash` is ward-auth's hex SHA-256 of the secret; the
-- secret itself is never stored.
CREATE TABLE tokens (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL CHECK (kind IN ('api', 'agent', 'enrollment')),
    hash     TEXT NOT NULL,
    user_id  BIGINT REFERENCES users (id) ON DELETE CASCADE,
    host_id  BIGINT REFERENCES hosts (id) ON DELETE CASCADE,
    scopes   TEXT[] NOT NULL,
    created  TIMESTAMPTZ NOT NULL,
    expires  TIMESTAMPTZ,
    revoked  TIMESTAMPTZ,
    used     TIMESTAMPTZ,
    CHECK (CASE kind
               WHEN 'api' THEN user_id IS NOT NULL AND host_id IS NULL
               WHEN 'agent' THEN host_id IS NOT NULL AND user_id IS NULL
               ELSE user_id IS NULL AND host_id IS NULL
           END),
    CHECK (kind = 'api' OR cardinality(scopes) = 0)
);
CREATE INDEX tokens_by_user ON tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX tokens_by_host ON tokens (host_id) WHERE host_id IS NOT NULL;

-- One lockout state per account name and per source address: ward-auth's serde JSON (TEXT).
CREATE TABLE lockout (
    subject  TEXT NOT NULL CHECK (subject IN ('account', 'address')),
    key      TEXT NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (subject, key)
);

-- The audit log (ward.audit/1 hash chain). `seq` is computed by the appender, which holds a
-- transaction-scoped advisory lock, so there is one chain. `detail` is JSON kept as TEXT, not
-- JSONB: JSONB would rewrite numbers (1e2 → 100) and so change the hashed canonical form.
CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 1),
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- The latest audit entry's seq and hash, updated in the appending transaction: what
-- `verify_with_anchor` needs to see a cut-off tail.
CREATE TABLE audit_anchor (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
