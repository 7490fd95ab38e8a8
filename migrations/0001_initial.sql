-- 0001: the whole domain schema (see sidecar/db/models.py; tests/test_schema.py keeps them equal).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE job_definition (
	name VARCHAR NOT NULL, 
	description VARCHAR NOT NULL, 
	schedule VARCHAR, 
	enabled BOOLEAN NOT NULL, 
	last_enqueued_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (name)
);

CREATE TABLE job_run (
	id SERIAL NOT NULL, 
	job_name VARCHAR NOT NULL, 
	arq_job_id VARCHAR, 
	args JSONB DEFAULT '{}' NOT NULL, 
	status VARCHAR NOT NULL, 
	progress_current INTEGER NOT NULL, 
	progress_total INTEGER, 
	message VARCHAR NOT NULL, 
	log JSONB DEFAULT '[]' NOT NULL, 
	error VARCHAR, 
	result JSONB DEFAULT '{}' NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_job_run_name_started ON job_run (job_name, started_at);

CREATE TABLE media_server (
	id SERIAL NOT NULL, 
	kind VARCHAR NOT NULL, 
	url VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	server_id VARCHAR, 
	version VARCHAR, 
	settings JSONB DEFAULT '{}' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id)
);

CREATE TABLE runtime_setting (
	key VARCHAR NOT NULL, 
	value JSONB, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (key)
);

CREATE TABLE sync_state (
	key VARCHAR NOT NULL, 
	value JSONB DEFAULT '{}' NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (key)
);

CREATE TABLE webhook_event (
	id SERIAL NOT NULL, 
	source VARCHAR NOT NULL, 
	content_hash TEXT NOT NULL, 
	event_type VARCHAR, 
	raw_type VARCHAR, 
	content_type VARCHAR, 
	headers JSONB DEFAULT '{}' NOT NULL, 
	body BYTEA NOT NULL, 
	payload JSONB, 
	user_provider_id VARCHAR, 
	item_provider_id VARCHAR, 
	status VARCHAR NOT NULL, 
	error VARCHAR, 
	attempts INTEGER NOT NULL, 
	received_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	processed_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (content_hash)
);

CREATE INDEX ix_webhook_event_status ON webhook_event (status);

CREATE TABLE app_user (
	id SERIAL NOT NULL, 
	server_id INTEGER NOT NULL, 
	provider_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	is_disabled BOOLEAN NOT NULL, 
	enable_all_folders BOOLEAN NOT NULL, 
	movies_enabled BOOLEAN NOT NULL, 
	series_enabled BOOLEAN NOT NULL, 
	movies_library_name VARCHAR, 
	series_library_name VARCHAR, 
	show_explanations BOOLEAN, 
	watch_synced_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	gone_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (server_id, provider_id), 
	FOREIGN KEY(server_id) REFERENCES media_server (id) ON DELETE CASCADE
);

CREATE INDEX ix_app_user_server_id ON app_user (server_id);

CREATE TABLE library (
	id SERIAL NOT NULL, 
	server_id INTEGER NOT NULL, 
	provider_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	collection_type VARCHAR, 
	locations JSONB DEFAULT '[]' NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	is_marquee_output BOOLEAN NOT NULL, 
	synced_at TIMESTAMP WITH TIME ZONE, 
	gone_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (server_id, provider_id), 
	FOREIGN KEY(server_id) REFERENCES media_server (id) ON DELETE CASCADE
);

CREATE INDEX ix_library_server_id ON library (server_id);

CREATE TABLE channel (
	id SERIAL NOT NULL, 
	owner_id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	media_type VARCHAR NOT NULL, 
	genre_filters JSONB DEFAULT '[]' NOT NULL, 
	text_preferences VARCHAR NOT NULL, 
	example_item_ids JSONB DEFAULT '[]' NOT NULL, 
	item_ids JSONB DEFAULT '[]' NOT NULL, 
	playlist_provider_id VARCHAR, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(owner_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE INDEX ix_channel_owner_id ON channel (owner_id);

CREATE TABLE item (
	id SERIAL NOT NULL, 
	server_id INTEGER NOT NULL, 
	provider_id VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	library_id INTEGER, 
	parent_id INTEGER, 
	series_id INTEGER, 
	season_number INTEGER, 
	episode_number INTEGER, 
	name VARCHAR NOT NULL, 
	original_title VARCHAR, 
	sort_name VARCHAR, 
	year INTEGER, 
	premiere_date TIMESTAMP WITH TIME ZONE, 
	end_year INTEGER, 
	status VARCHAR, 
	overview VARCHAR, 
	tagline VARCHAR, 
	genres JSONB DEFAULT '[]' NOT NULL, 
	tags JSONB DEFAULT '[]' NOT NULL, 
	studios JSONB DEFAULT '[]' NOT NULL, 
	people JSONB DEFAULT '[]' NOT NULL, 
	community_rating FLOAT, 
	critic_rating FLOAT, 
	official_rating VARCHAR, 
	runtime_ticks BIGINT, 
	path VARCHAR, 
	provider_ids JSONB DEFAULT '{}' NOT NULL, 
	image_tags JSONB DEFAULT '{}' NOT NULL, 
	date_added TIMESTAMP WITH TIME ZONE, 
	date_last_saved TIMESTAMP WITH TIME ZONE, 
	synced_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	gone_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (server_id, provider_id), 
	FOREIGN KEY(server_id) REFERENCES media_server (id) ON DELETE CASCADE, 
	FOREIGN KEY(library_id) REFERENCES library (id) ON DELETE SET NULL, 
	FOREIGN KEY(parent_id) REFERENCES item (id) ON DELETE SET NULL, 
	FOREIGN KEY(series_id) REFERENCES item (id) ON DELETE SET NULL
);

CREATE INDEX ix_item_kind_live ON item (kind) WHERE gone_at IS NULL;

CREATE INDEX ix_item_library_id ON item (library_id);

CREATE INDEX ix_item_parent_id ON item (parent_id);

CREATE INDEX ix_item_series_id ON item (series_id);

CREATE INDEX ix_item_server_id ON item (server_id);

CREATE TABLE login_session (
	id VARCHAR NOT NULL, 
	user_id INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE INDEX ix_login_session_user_id ON login_session (user_id);

CREATE TABLE published_library (
	id SERIAL NOT NULL, 
	kind VARCHAR NOT NULL, 
	media_type VARCHAR NOT NULL, 
	user_id INTEGER, 
	name VARCHAR NOT NULL, 
	folder VARCHAR NOT NULL, 
	mode VARCHAR NOT NULL, 
	provider_library_id VARCHAR, 
	collection_provider_id VARCHAR, 
	playlist_provider_id VARCHAR, 
	status VARCHAR NOT NULL, 
	error VARCHAR, 
	published_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (kind, media_type, user_id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE INDEX ix_published_library_user_id ON published_library (user_id);

CREATE TABLE recommendation_run (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	media_type VARCHAR NOT NULL, 
	trigger VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	model VARCHAR, 
	params JSONB DEFAULT '{}' NOT NULL, 
	candidate_count INTEGER NOT NULL, 
	error VARCHAR, 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE INDEX ix_recommendation_run_user_id ON recommendation_run (user_id);

CREATE TABLE taste_profile (
	user_id INTEGER NOT NULL, 
	media_type TEXT NOT NULL, 
	text VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	facts JSONB DEFAULT '{}' NOT NULL, 
	locked BOOLEAN NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (user_id, media_type), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE TABLE channel_share (
	channel_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (channel_id, user_id), 
	FOREIGN KEY(channel_id) REFERENCES channel (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE
);

CREATE TABLE item_embedding (
	item_id INTEGER NOT NULL, 
	model TEXT NOT NULL, 
	dim INTEGER NOT NULL, 
	text_hash VARCHAR NOT NULL, 
	embedding VECTOR, 
	error VARCHAR, 
	attempts INTEGER NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (item_id, model), 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE
);

CREATE TABLE play_event (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	item_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	position_ticks BIGINT, 
	completed BOOLEAN NOT NULL, 
	source VARCHAR NOT NULL, 
	webhook_event_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE, 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE, 
	FOREIGN KEY(webhook_event_id) REFERENCES webhook_event (id) ON DELETE SET NULL
);

CREATE INDEX ix_play_event_at ON play_event (at);

CREATE INDEX ix_play_event_item_id ON play_event (item_id);

CREATE INDEX ix_play_event_user_id ON play_event (user_id);

CREATE INDEX ix_play_event_webhook_event_id ON play_event (webhook_event_id);

CREATE TABLE published_file (
	library_id INTEGER NOT NULL, 
	folder_name TEXT NOT NULL, 
	item_id INTEGER NOT NULL, 
	rank INTEGER NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	written_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (library_id, folder_name), 
	FOREIGN KEY(library_id) REFERENCES published_library (id) ON DELETE CASCADE, 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE
);

CREATE INDEX ix_published_file_item_id ON published_file (item_id);

CREATE TABLE recommendation (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	media_type VARCHAR NOT NULL, 
	item_id INTEGER NOT NULL, 
	rank INTEGER NOT NULL, 
	score FLOAT NOT NULL, 
	match_pct INTEGER NOT NULL, 
	components JSONB DEFAULT '{}' NOT NULL, 
	genre_analysis JSONB DEFAULT '{}' NOT NULL, 
	evidence JSONB DEFAULT '[]' NOT NULL, 
	explanation VARCHAR, 
	explanation_source VARCHAR, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES recommendation_run (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE, 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE
);

CREATE INDEX ix_recommendation_item_id ON recommendation (item_id);

CREATE INDEX ix_recommendation_run_id ON recommendation (run_id);

CREATE INDEX ix_recommendation_user_type ON recommendation (user_id, media_type);

CREATE TABLE top_pick (
	id SERIAL NOT NULL, 
	media_type VARCHAR NOT NULL, 
	item_id INTEGER NOT NULL, 
	rank INTEGER NOT NULL, 
	score FLOAT NOT NULL, 
	unique_viewers INTEGER NOT NULL, 
	play_count INTEGER NOT NULL, 
	completion FLOAT NOT NULL, 
	computed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (media_type, rank), 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE
);

CREATE INDEX ix_top_pick_item_id ON top_pick (item_id);

CREATE TABLE watch_state (
	user_id INTEGER NOT NULL, 
	item_id INTEGER NOT NULL, 
	played BOOLEAN NOT NULL, 
	play_count INTEGER NOT NULL, 
	is_favorite BOOLEAN NOT NULL, 
	last_played_at TIMESTAMP WITH TIME ZONE, 
	position_ticks BIGINT DEFAULT '0' NOT NULL, 
	completion FLOAT NOT NULL, 
	rating FLOAT, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	PRIMARY KEY (user_id, item_id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id) ON DELETE CASCADE, 
	FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE
);

CREATE INDEX ix_watch_state_item_id ON watch_state (item_id);
