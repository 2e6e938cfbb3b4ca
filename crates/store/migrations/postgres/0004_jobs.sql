-- ward-store schema 4 (PostgreSQL): source versions, host facts, report order, jobs, advisory
-- fingerprints, and the indexes the server's queries need.

-- The source package's version when it differs from the binary's (binNMU, another epoch).
ALTER TABLE packages ADD COLUMN source_version TEXT;
ALTER TABLE changes ADD COLUMN source_version TEXT;

-- The order reports were recorded in (two reports may carry the same time).
ALTER TABLE inventory_reports ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX inventory_reports_latest ON inventory_reports (host_id, at DESC, seq DESC);

-- The latest facts each host's agent reported: a JSON object the store does not interpret,
-- kept as JSON text.
CREATE TABLE host_facts (
    host_id  BIGINT PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    at       TIMESTAMPTZ NOT NULL,
    facts    TEXT NOT NULL
);

-- Work done once across server processes. `(kind, key)` is unique: the constraint decides
-- which enqueuer creates a job. `payload` and `result` are JSON text.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created      TIMESTAMPTZ NOT NULL,
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ,
    finished     TIMESTAMPTZ,
    result       TEXT,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_claimable ON jobs (kind, id) WHERE state IN ('queued', 'running');

-- What the store remembers of each advisory record: a content fingerprint and the
-- `(ecosystem, name)` keys it names (a JSON array of pairs).
CREATE TABLE advisory_fingerprints (
    id           TEXT COLLATE "C" PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    keys         TEXT NOT NULL
);

-- Host filters by severity and finding counts per host read open findings by host and severity.
CREATE INDEX findings_open_by_severity ON findings (severity, host_id) WHERE resolved_at IS NULL;

-- A scoped application reads the open findings of given (host, ecosystem, package) triples.
CREATE INDEX findings_open_by_package ON findings (host_id, ecosystem, package)
    WHERE resolved_at IS NULL;
