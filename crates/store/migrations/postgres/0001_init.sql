-- ward-store schema 1 (PostgreSQL). Timestamps are TIMESTAMPTZ (UTC, microseconds).

CREATE TABLE hosts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    os          TEXT,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL
);
CREATE INDEX hosts_os ON hosts (os);

CREATE TABLE host_groups (
    host_id  BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
CREATE INDEX host_groups_name ON host_groups (name, host_id);

CREATE TABLE host_tags (
    host_id  BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
CREATE INDEX host_tags_name ON host_tags (name, host_id);

-- The current inventory of each host; the reverse index is `packages_by_name`.
CREATE TABLE packages (
    host_id  BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    ecosystem  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    source     TEXT,
    PRIMARY KEY (host_id, ecosystem, name)
);
CREATE INDEX packages_by_name ON packages (ecosystem, name, host_id);

-- One row per accepted report. The primary key is what makes a report idempotent.
CREATE TABLE inventory_reports (
    host_id  BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    added            BIGINT NOT NULL,
    removed          BIGINT NOT NULL,
    changed          BIGINT NOT NULL,
    PRIMARY KEY (host_id, idempotency_key)
);
CREATE INDEX inventory_reports_at ON inventory_reports (host_id, at);

-- Append-only history: one row per package difference between consecutive reports.
CREATE TABLE changes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id  BIGINT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    at            TIMESTAMPTZ NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('added', 'removed', 'changed')),
    ecosystem     TEXT NOT NULL,
    name          TEXT NOT NULL,
    from_version  TEXT,
    to_version    TEXT,
    source        TEXT
);
CREATE INDEX changes_by_host ON changes (host_id, at, id);
