-- ward-store schema 3 (SQLite): the server's security state — users, tokens, lockout states and
-- the hash-chained audit log with its anchor. Times as in schema 1.

-- `password_phc` is an argon2id PHC string (ward-auth); `role` a ward-auth role name.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    password_phc  TEXT NOT NULL,
    created       TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- API tokens (owned by a user, with scopes), agent credentials (owned by a host) and one-time
-- enrollment tokens (owned by nobody). `hash` is ward-auth's hex SHA-256 of the secret; the
-- secret itself is never stored. `scopes` holds scope names joined with spaces.
CREATE TABLE tokens (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL CHECK (kind IN ('api', 'agent', 'enrollment')),
    hash     TEXT NOT NULL,
    user_id  INTEGER REFERENCES users (id) ON DELETE CASCADE,
    host_id  INTEGER REFERENCES hosts (id) ON DELETE CASCADE,
    scopes   TEXT NOT NULL,
    created  TEXT NOT NULL,
    expires  TEXT,
    revoked  TEXT,
    used     TEXT,
    CHECK (CASE kind
               WHEN 'api' THEN user_id IS NOT NULL AND host_id IS NULL
               WHEN 'agent' THEN host_id IS NOT NULL AND user_id IS NULL
               ELSE user_id IS NULL AND host_id IS NULL
           END),
    CHECK (kind = 'api' OR scopes = '')
);
CREATE INDEX tokens_by_user ON tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX tokens_by_host ON tokens (host_id) WHERE host_id IS NOT NULL;

-- One lockout state per account name and per source address: ward-auth's serde JSON.
CREATE TABLE lockout (
    subject  TEXT NOT NULL CHECK (subject IN ('account', 'address')),
    key      TEXT NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (subject, key)
);

-- The audit log (ward.audit/1 hash chain). `seq` is computed by the appender, which holds the
-- write lock (BEGIN IMMEDIATE), so there is one chain. `detail` is JSON text, kept as written so
-- its canonical form (and so the hash) survives.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
    at         TEXT NOT NULL,
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
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
