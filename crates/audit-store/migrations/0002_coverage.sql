-- How far each replica's accesses can be read from the store: the last
-- time its feed found the log wholly ingested (every entry written before
-- it is stored), and whether the replica then stopped cleanly (its log
-- has nothing more to give until it starts again).
ALTER TABLE audit_ingest_progress
    ADD COLUMN caught_up_at timestamptz,
    ADD COLUMN stopped      boolean NOT NULL DEFAULT false;
