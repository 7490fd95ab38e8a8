-- 0614: channels that live on the media server as playlists (issue 14).
-- A channel may be synced to one playlist owned by its owner (playlist_provider_id, already in 0001);
-- the columns below say whether it should be, when it last was, with how many entries, and what failed.
-- description is the short text "Generate" proposes next to the name.
ALTER TABLE channel ADD COLUMN IF NOT EXISTS description TEXT NOT NULL DEFAULT '';
ALTER TABLE channel ADD COLUMN IF NOT EXISTS sync_enabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE channel ADD COLUMN IF NOT EXISTS synced_at TIMESTAMPTZ;
ALTER TABLE channel ADD COLUMN IF NOT EXISTS synced_item_count INTEGER;
ALTER TABLE channel ADD COLUMN IF NOT EXISTS sync_error TEXT;
ALTER TABLE channel ADD COLUMN IF NOT EXISTS refreshed_at TIMESTAMPTZ;
