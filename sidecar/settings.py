"""Marquee's one settings class.

Every field is read from an environment variable named ``MARQUEE_<FIELD>`` (or from a ``.env`` file in
the working directory). The README lists them all. Settings that change at run time (weights, outputs,
schedules) live in the database instead (``runtime_setting``), edited from the UI.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MediaServerKind = Literal["jellyfin", "emby"]
EmbeddingProvider = Literal["local", "openai"]
PublishMode = Literal["strm", "symlink"]

SECRETS_FILE = "secrets.json"


class Settings(BaseSettings):
    # env_ignore_empty: compose passes ``${VAR:-}`` for what the admin may leave unset (the media server, set
    # up in the UI instead); an empty value means "not set", not "set to nothing".
    model_config = SettingsConfigDict(
        env_prefix="MARQUEE_", env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Field(
        default=Path(".marquee"),
        description="Where Marquee keeps its embedded database, Redis, secrets and published libraries.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web server listens on.")
    port: int = Field(default=8787, ge=1, le=65535, description="Port the web server listens on.")
    base_url: str | None = Field(
        default=None,
        description="URL the media server uses to reach Marquee (for webhook URLs); default http://HOST:PORT.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL with pgvector, e.g. postgresql://user:pw@db:5432/marquee. "
        "Empty: an embedded PostgreSQL 16 under DATA_DIR/postgres.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis for the job queue, e.g. redis://redis:6379/0. Empty: an embedded Redis under DATA_DIR.",
    )
    run_worker: bool = Field(default=True, description="`marquee serve` also runs the job worker in the same process.")

    session_secret: SecretStr | None = Field(
        default=None, description="Signs login cookies. Empty: generated once and kept in DATA_DIR."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret media-server webhooks must present. Empty: generated once and kept in DATA_DIR.",
    )

    media_server_type: MediaServerKind | None = Field(
        default=None, description="jellyfin or emby. Empty with no URL: the built-in simulator (demo)."
    )
    media_server_url: str | None = Field(default=None, description="e.g. http://jellyfin:8096")
    media_server_public_url: str | None = Field(
        default=None,
        description="The media server's address as browsers reach it, for Play buttons. Empty: MEDIA_SERVER_URL.",
    )
    media_server_api_key: SecretStr | None = Field(
        default=None, description="An admin API key from the media server's dashboard."
    )

    embedding_provider: EmbeddingProvider = Field(
        default="local", description="local (offline all-MiniLM-L6-v2) or openai (any OpenAI-compatible API)."
    )
    embedding_model: str | None = Field(
        default=None,
        description="Embedding model name. Default: all-MiniLM-L6-v2 (local) / text-embedding-3-small (openai).",
    )
    openai_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint (Ollama http://host:11434/v1, LM Studio, vLLM). Empty: OpenAI.",
    )
    openai_api_key: SecretStr | None = Field(default=None, description="Key for the OpenAI-compatible endpoint.")
    openai_chat_model: str | None = Field(
        default=None,
        description="Chat model for taste profiles and explanations. Empty: deterministic template text.",
    )

    strm_root: Path | None = Field(
        default=None, description="Where Marquee writes AI Picks libraries. Default DATA_DIR/libraries."
    )
    strm_path_prefix: str | None = Field(
        default=None,
        description="The same folder as the media server sees it (when it runs in another container). "
        "Default: STRM_ROOT.",
    )
    publish_mode: PublishMode = Field(default="strm", description="strm or symlink.")
    library_name_prefix: str = Field(default="AI Picks", description="Per-user libraries are '<prefix> - <user>'.")

    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is "
        "believed (for the login limit and logs). Empty: the connecting address is the client.",
    )
    keep_events_days: int = Field(
        default=14,
        ge=1,
        description="Webhook events that were applied or ignored, and finished job runs, are kept this many days. "
        "Rejected and failed events stay until an admin clears them.",
    )
    keep_events_max: int = Field(
        default=20_000,
        ge=100,
        description="At most this many applied/ignored webhook events (and finished job runs) are kept per kind, "
        "newest first, whatever their age.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        """Each entry an IP address or CIDR range; stored normalised (``10.0.0.1/32,172.16.0.0/12``)."""
        networks, wrong = [], []
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            try:
                networks.append(str(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                wrong.append(repr(entry))
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)} is not an IP address or CIDR range: MARQUEE_TRUSTED_PROXIES takes a "
                "comma-separated list such as 127.0.0.1, 10.0.0.0/8, ::1"
            )
        return ",".join(networks)

    @field_validator("media_server_url", "media_server_public_url", "openai_base_url", "base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    # Derived values -------------------------------------------------------------------------------

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_strm_root(self) -> Path:
        root = self.strm_root if self.strm_root is not None else self.resolved_data_dir / "libraries"
        return root.expanduser().resolve()

    @property
    def resolved_strm_prefix(self) -> str:
        return self.strm_path_prefix.rstrip("/") if self.strm_path_prefix else str(self.resolved_strm_root)

    @property
    def public_base_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def uses_simulator(self) -> bool:
        return self.media_server_url is None

    @property
    def resolved_embedding_model(self) -> str:
        if self.embedding_model:
            return self.embedding_model
        return "all-MiniLM-L6-v2" if self.embedding_provider == "local" else "text-embedding-3-small"

    def with_persisted_secrets(self) -> Settings:
        """Fill a missing session or webhook secret from DATA_DIR/secrets.json, creating it once.

        The file is written with mode 0600 so other users of the machine cannot read it.
        """
        path = self.resolved_data_dir / SECRETS_FILE
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for key in ("session_secret", "webhook_secret"):
            if key not in stored:
                stored[key] = secrets.token_urlsafe(32)
                changed = True
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(stored, fh)
        updates: dict[str, SecretStr] = {}
        if self.session_secret is None:
            updates["session_secret"] = SecretStr(stored["session_secret"])
        if self.webhook_secret is None:
            updates["webhook_secret"] = SecretStr(stored["webhook_secret"])
        return self.model_copy(update=updates)

    def secret_value(self, name: Literal["session_secret", "webhook_secret"]) -> str:
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"{name} is not set; call Settings.with_persisted_secrets() first")
        return str(value.get_secret_value())
