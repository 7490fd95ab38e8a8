-- 0300: when a published library was first created; anchors the rank-staggered NFO dateadded so an
-- unchanged title at an unchanged rank writes byte-identical files on every republish.
ALTER TABLE published_library ADD COLUMN created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL;
