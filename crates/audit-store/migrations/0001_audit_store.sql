-- The audit store: every replica's log entries, one row per access, the
-- ingest's progress, the chains' anchors and break-glass reviews.

-- Every entry of every replica's chain, exactly as written (the line is
-- kept byte for byte, so the store can be re-verified and each access read
-- back with the log's own parser).
CREATE TABLE audit_entries (
    replica     text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    prev        bytea       NOT NULL CHECK (length(prev) = 32),
    time        timestamptz NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('access', 'begun', 'completion', 'recovery')),
    line        text        NOT NULL,
    PRIMARY KEY (replica, seq)
);

-- One row per access (one request): a whole access, or a begun one with
-- its completion attached (decision NULL: outcome not recorded).
CREATE TABLE audit_accesses (
    replica            text        NOT NULL,
    seq                bigint      NOT NULL,
    time               timestamptz NOT NULL,
    nhs_number         text,
    interaction        text        NOT NULL,
    user_sub           text,
    user_name          text,
    organisation       text,
    role               text,
    purpose            text        NOT NULL,
    break_glass_reason text,
    completed_by       bigint,
    decision           text CHECK (decision IN ('allowed', 'refused')),
    http_status        integer,
    PRIMARY KEY (replica, seq),
    FOREIGN KEY (replica, seq) REFERENCES audit_entries (replica, seq),
    FOREIGN KEY (replica, completed_by) REFERENCES audit_entries (replica, seq)
);
CREATE INDEX audit_accesses_by_person
    ON audit_accesses (nhs_number, time DESC, replica DESC, seq DESC);
CREATE INDEX audit_accesses_break_glass
    ON audit_accesses (time DESC, replica DESC, seq DESC)
    WHERE break_glass_reason IS NOT NULL;

-- How far each replica's log has been ingested: the last entry stored and
-- where the next line starts in the replica's files.
CREATE TABLE audit_ingest_progress (
    replica     text        PRIMARY KEY,
    seq         bigint      NOT NULL CHECK (seq >= 0),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    file_number bigint      NOT NULL CHECK (file_number > 0),
    file_offset bigint      NOT NULL CHECK (file_offset >= 0),
    time        timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Chain heads as the replicas published them, at intervals.
CREATE TABLE audit_anchors (
    replica     text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 0),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (replica, seq)
);

-- A privacy officer's review of a break-glass access; the latest counts.
CREATE TABLE audit_break_glass_reviews (
    id          bigserial   PRIMARY KEY,
    replica     text        NOT NULL,
    seq         bigint      NOT NULL,
    reviewer    text        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('justified', 'not-justified', 'referred')),
    note        text        NOT NULL DEFAULT '',
    reviewed_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (replica, seq) REFERENCES audit_accesses (replica, seq)
);
CREATE INDEX audit_break_glass_reviews_by_access
    ON audit_break_glass_reviews (replica, seq, reviewed_at DESC, id DESC);
