"""What the Jobs pages print beside a bar: the counts once and in words, never a bare number."""

from __future__ import annotations

from sidecar.web.read_models.jobs import duration_text, progress_text


def test_progress_texts_say_the_counts_once() -> None:
    assert progress_text(647, 647, "647 of 647 series items") == "647 of 647 series items"
    assert progress_text(40, 100, "embedded 40/100 movies (12/s)") == "embedded 40/100 movies (12/s)"
    assert progress_text(3, 6, "step 3") == "step 3 (3 of 6)"
    assert progress_text(6, 6, "step 6") == "step 6 (6 of 6)"
    assert progress_text(0, 647, "reading series from 2 libraries") == "reading series from 2 libraries (0 of 647)"
    assert progress_text(12, 40, "") == "12 of 40"
    assert progress_text(0, None, "") == ""  # never a bare "0"
    assert progress_text(5, None, "") == "5 done"
    assert progress_text(0, None, "publishing movies") == "publishing movies"


def test_durations_read_like_a_person_would_say_them() -> None:
    assert duration_text(None) == ""
    assert duration_text(2.04) == "2.0 s"
    assert duration_text(42.4) == "42 s"
    assert duration_text(125) == "2 min 5 s"
    assert duration_text(3600 * 2 + 60 * 3) == "2 h 3 min"


def test_a_finished_run_without_progress_says_what_it_did() -> None:
    from datetime import UTC, datetime, timedelta

    from sidecar.db.models import JobRun
    from sidecar.web.read_models.jobs import run_view

    now = datetime.now(UTC)
    run = JobRun(
        id=1, job_name="sync-users", status="done", result={"seen": 3, "new": 1, "by_kind": {"x": 1}},
        started_at=now - timedelta(seconds=75), finished_at=now,
    )  # fmt: skip
    view = run_view(run)
    assert view["progress_text"] == "seen: 3, new: 1"
    assert view["duration_text"] == "1 min 15 s"
    assert run_view(JobRun(id=2, job_name="sync-users", status="failed", started_at=now))["progress_text"] == ""
