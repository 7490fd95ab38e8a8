-- 1017: `marquee evaluate --server` results (issue 17): the offline protocol run on this server's own users
-- (each user's last N plays held out). One row per evaluation and media type; the page shows the latest.
-- overall: {method: {ndcg10, recall20, hit10, users}}; per_user: [{user_id, name, history, held_out, ndcg10: {method: x}}].
CREATE TABLE IF NOT EXISTS server_evaluation (
    id SERIAL PRIMARY KEY,
    media_type TEXT NOT NULL,
    job_run_id INTEGER REFERENCES job_run(id) ON DELETE SET NULL,
    model TEXT,
    holdout INTEGER NOT NULL,
    min_history INTEGER NOT NULL,
    items INTEGER NOT NULL DEFAULT 0,
    users_with_history INTEGER NOT NULL DEFAULT 0,
    users_evaluated INTEGER NOT NULL DEFAULT 0,
    overall JSONB NOT NULL DEFAULT '{}',
    per_user JSONB NOT NULL DEFAULT '[]',
    params JSONB NOT NULL DEFAULT '{}',
    seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    evaluated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_server_evaluation_type_at ON server_evaluation (media_type, evaluated_at);
