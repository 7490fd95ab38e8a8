-- 0200: a cheap "did the catalogue change?" signal for the recommender's in-memory item matrix.
-- Every statement that writes item, item_embedding or library advances the catalog_version sequence
-- (nextval is not transactional and takes no row lock, so writers never wait on each other). A
-- process holding the matrix compares one number before deciding to look for changed rows.
CREATE SEQUENCE IF NOT EXISTS catalog_version;

CREATE OR REPLACE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('catalog_version');
    RETURN NULL;
END
$$;

CREATE TRIGGER item_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON item
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER item_embedding_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON item_embedding
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER library_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON library
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();

-- the change scan looks rows up by model
CREATE INDEX IF NOT EXISTS ix_item_embedding_model ON item_embedding (model, item_id);

-- the same signal for everybody's watch history (the co-watch model is rebuilt from it now and then)
CREATE SEQUENCE IF NOT EXISTS history_version;

CREATE OR REPLACE FUNCTION bump_history_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('history_version');
    RETURN NULL;
END
$$;

CREATE TRIGGER watch_state_history_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON watch_state
    FOR EACH STATEMENT EXECUTE FUNCTION bump_history_version();
