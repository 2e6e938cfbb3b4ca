-- ward-store schema 2 (SQLite): findings and the event feed. Times as in schema 1.

-- One row per finding: open while `resolved_at` is NULL. A finding that is resolved and later
-- reappears is a new row. `aliases` holds the advisory's other names joined with newlines.
CREATE TABLE findings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id      INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    advisory     TEXT NOT NULL,
    ecosystem    TEXT NOT NULL,
    package      TEXT NOT NULL,
    version      TEXT NOT NULL,
    aliases      TEXT NOT NULL,
    severity     TEXT,
    score        REAL,
    first_seen   TEXT NOT NULL,
    resolved_at  TEXT
);
-- At most one open finding per identity; also the keyset order of `open_findings`.
CREATE UNIQUE INDEX findings_open ON findings (host_id, advisory, ecosystem, package)
    WHERE resolved_at IS NULL;
CREATE INDEX findings_open_by_advisory ON findings (advisory, host_id)
    WHERE resolved_at IS NULL;

-- Append-only event feed, read by id.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('finding-new', 'finding-resolved')),
    host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    advisory   TEXT NOT NULL,
    ecosystem  TEXT NOT NULL,
    package    TEXT NOT NULL,
    version    TEXT NOT NULL
);

-- The reverse index by source package (OS advisories name source packages).
CREATE INDEX packages_by_source ON packages (ecosystem, source, host_id) WHERE source IS NOT NULL;
