-- 0530: the admin's per-user grant to choose "why we picked this" for oneself (the seed's per-user
-- override on each user's page). Without it a user's stored choice is ignored and the global toggle applies.
ALTER TABLE app_user ADD COLUMN IF NOT EXISTS may_override_explanations BOOLEAN NOT NULL DEFAULT false;
