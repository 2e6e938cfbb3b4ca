-- ward-store schema 2 (PostgreSQL): findings and the event feed. Identity columns use the "C"
-- collation so keyset order is byte order, as in SQLite.

-- One row per finding: open while `resolved_at` is NULL. A finding that is resolved and later
-- reappears is a new row.
CREATE TABLE findings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id      BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    advisory     TEXT COLLATE "C" NOT NULL,
    ecosystem    TEXT COLLATE "C" NOT NULL,
    package      TEXT COLLATE "C" NOT NULL,
    version      TEXT NOT NULL,
    aliases      TEXT[] NOT NULL,
    severity     TEXT,
    score        DOUBLE PRECISION,
    first_seen   TIMESTAMPTZ NOT NULL,
    resolved_at  TIMESTAMPTZ
);
-- At most one open finding per identity; also the keyset order of `open_findings`.
CREATE UNIQUE INDEX findings_open ON findings (host_id, advisory, ecosystem, package)
    WHERE resolved_at IS NULL;
CREATE INDEX findings_open_by_advisory ON findings (advisory, host_id)
    WHERE resolved_at IS NULL;

-- Append-only event feed, read by id. Writers serialize on an advisory lock before inserting,
-- so ids are assigned in commit order and a reader paging by id never skips one.
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('finding-new', 'finding-resolved')),
    host_id    BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    advisory   TEXT NOT NULL,
    ecosystem  TEXT NOT NULL,
    package    TEXT NOT NULL,
    version    TEXT NOT NULL
);

-- The reverse index by source package (OS advisories name source packages).
CREATE INDEX packages_by_source ON packages (ecosystem, source, host_id) WHERE source IS NOT NULL;
