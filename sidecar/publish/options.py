"""Publishing's own runtime settings (beside ``publish`` in ``sidecar.runtime_settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.runtime_settings import RuntimeKey

StrmContent = Literal["path", "stream_url"]


class PublishFileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strm_content: StrmContent = Field(
        default="path",
        description="What a .strm file holds: the file path as the media server knows it (safe), or a "
        "streaming URL. WARNING: a streaming URL embeds the media server's API key in files every user of "
        "the server can read; keep 'path' unless the server cannot read the original files.",
    )
    artwork: bool = Field(default=True, description="Write poster and fanart next to each title.")
    scan_timeout_s: float = Field(default=300.0, gt=0, le=7200, description="How long to wait for a scan.")


PUBLISH_FILES: RuntimeKey[PublishFileSettings] = RuntimeKey("publish.files", PublishFileSettings)
