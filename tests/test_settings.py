from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from sidecar.logs import redact
from sidecar.settings import Settings


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARQUEE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MARQUEE_MEDIA_SERVER_URL", "http://jellyfin:8096/")
    monkeypatch.setenv("MARQUEE_MEDIA_SERVER_API_KEY", "abc123")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_data_dir == tmp_path.resolve()
    assert settings.media_server_url == "http://jellyfin:8096"
    assert settings.resolved_strm_root == tmp_path.resolve() / "libraries"
    assert settings.resolved_strm_prefix == str(tmp_path.resolve() / "libraries")
    assert settings.resolved_embedding_model == "all-MiniLM-L6-v2"
    assert "abc123" not in repr(settings)
    assert "abc123" not in str(settings.model_dump())


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose.yaml passes ``${MARQUEE_MEDIA_SERVER_URL:-}``: left empty, the server is set up in the UI."""
    from sidecar.server_setup import env_sets_server

    for name in ("MEDIA_SERVER_TYPE", "MEDIA_SERVER_URL", "MEDIA_SERVER_API_KEY"):
        monkeypatch.setenv(f"MARQUEE_{name}", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.media_server_type, settings.media_server_url, settings.media_server_api_key) == (None, None, None)
    assert not env_sets_server(settings)
    monkeypatch.setenv("MARQUEE_MEDIA_SERVER_URL", "http://jellyfin:8096")
    assert env_sets_server(Settings(_env_file=None))  # type: ignore[call-arg]


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUEE_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="port"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path).with_persisted_secrets()  # type: ignore[call-arg]
    second = Settings(_env_file=None, data_dir=tmp_path).with_persisted_secrets()  # type: ignore[call-arg]
    assert first.secret_value("webhook_secret") == second.secret_value("webhook_secret")
    assert first.secret_value("session_secret") != first.secret_value("webhook_secret")
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600


def test_configured_secret_wins(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        webhook_secret=SecretStr("mine"),  # type: ignore[call-arg]
    ).with_persisted_secrets()
    assert settings.secret_value("webhook_secret") == "mine"


def test_redact_masks_tokens_in_log_lines() -> None:
    line = '127.0.0.1 - "POST /webhooks/emby?token=s3cr3t&x=1 HTTP/1.1" 202 api_key=abc'
    assert "s3cr3t" not in redact(line)
    assert "abc" not in redact(line)
    assert "x=1" in redact(line)
