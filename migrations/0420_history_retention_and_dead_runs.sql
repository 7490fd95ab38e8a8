-- 0420: bounded history and runs that cannot hang.
-- A job run records the worker that runs it, so a run whose worker died (its heartbeat key in Redis
-- expired) can be told apart from one a live worker is still running; the partial index finds the
-- running ones at once.
ALTER TABLE job_run ADD COLUMN IF NOT EXISTS worker_id VARCHAR;
CREATE INDEX IF NOT EXISTS ix_job_run_running ON job_run (job_name, started_at) WHERE status = 'running';

-- Retention walks the settled events of one kind from the oldest (prune-history).
CREATE INDEX IF NOT EXISTS ix_webhook_event_settled ON webhook_event (event_type, id) WHERE status IN ('done', 'ignored');

-- Copies the server announces are recognised at ingest by a provider id shared with a live title.
CREATE INDEX IF NOT EXISTS ix_item_provider_ids_live ON item USING gin (provider_ids jsonb_path_ops) WHERE gone_at IS NULL;
