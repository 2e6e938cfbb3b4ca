-- ward-store schema 1 (SQLite). Timestamps are TEXT, RFC 3339 UTC with exactly six fractional
-- digits and a `Z` (`2026-01-02T03:04:05.000000Z`), so text order is time order.

CREATE TABLE hosts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    os          TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE INDEX hosts_os ON hosts (os);

CREATE TABLE host_groups (
    host_id  INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
CREATE INDEX host_groups_name ON host_groups (name, host_id);

CREATE TABLE host_tags (
    host_id  INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
CREATE INDEX host_tags_name ON host_tags (name, host_id);

-- The current inventory of each host; the reverse index is `packages_by_name`.
CREATE TABLE packages (
    host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    ecosystem  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    source     TEXT,
    PRIMARY KEY (host_id, ecosystem, name)
);
CREATE INDEX packages_by_name ON packages (ecosystem, name, host_id);

-- One row per accepted report. The primary key is what makes a report idempotent.
CREATE TABLE inventory_reports (
    host_id          INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    at               TEXT NOT NULL,
    added            INTEGER NOT NULL,
    removed          INTEGER NOT NULL,
    changed          INTEGER NOT NULL,
    PRIMARY KEY (host_id, idempotency_key)
);
CREATE INDEX inventory_reports_at ON inventory_reports (host_id, at);

-- Append-only history: one row per package difference between consecutive reports.
CREATE TABLE changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id       INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('added', 'removed', 'changed')),
    ecosystem     TEXT NOT NULL,
    name          TEXT NOT NULL,
    from_version  TEXT,
    to_version    TEXT,
    source        TEXT
);
CREATE INDEX changes_by_host ON changes (host_id, at, id);
