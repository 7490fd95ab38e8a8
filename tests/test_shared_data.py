"""Tests that need ../shared skip with the reason when it is missing, and fail instead under CI."""

from __future__ import annotations

import pytest

from tests.conftest import shared_path


def test_missing_shared_data_is_a_skip_with_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no-such-file\.json is not available"):
        shared_path("no-such-file.json")


@pytest.mark.parametrize("value", ["1", "true"])
def test_missing_shared_data_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        shared_path("no-such-file.json")

