-- 1015: API tokens for scripts (issue 15). An admin creates one for a user; the token acts as that user
-- (`Authorization: Bearer <token>`). Only the SHA-256 of the token is stored: the token itself is shown once.
CREATE TABLE IF NOT EXISTS api_token (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER REFERENCES app_user(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ix_api_token_user_id ON api_token (user_id);
