"""Schedules editable from the UI: parsing, "is it due?", and seeding ``job_definition`` rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import JobDefinition
from sidecar.jobs.registry import JobSpec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_schedule(schedule: str | None) -> str | None:
    """Return the schedule unchanged, or raise ValueError with a message a person can act on."""
    if schedule is None or schedule == "":
        return None
    kind, _, rest = schedule.partition(":")
    if kind == "interval":
        if not rest.isdigit() or not 1 <= int(rest) <= 7 * 24 * 60:
            raise ValueError("interval schedules are 'interval:<minutes>' with 1..10080 minutes")
        return schedule
    if kind == "daily":
        _parse_hhmm(rest)
        return schedule
    if kind == "weekly":
        day, _, hhmm = rest.partition(":")
        if day not in WEEKDAYS:
            raise ValueError(f"weekly schedules are 'weekly:<{'|'.join(WEEKDAYS)}>:HH:MM'")
        _parse_hhmm(hhmm)
        return schedule
    raise ValueError("a schedule is 'interval:<minutes>', 'daily:HH:MM', 'weekly:<day>:HH:MM' or empty (manual)")


def _parse_hhmm(value: str) -> tuple[int, int]:
    hh, _, mm = value.partition(":")
    if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
        raise ValueError(f"'{value}' is not a time of day (HH:MM)")
    return int(hh), int(mm)


def previous_slot(schedule: str, now: datetime) -> datetime:
    """The latest moment at or before ``now`` when the schedule wanted a run."""
    kind, _, rest = schedule.partition(":")
    if kind == "interval":
        minutes = int(rest)
        epoch = int(now.timestamp()) // 60
        return datetime.fromtimestamp((epoch - epoch % minutes) * 60, UTC)
    if kind == "daily":
        hh, mm = _parse_hhmm(rest)
        slot = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        return slot if slot <= now else slot - timedelta(days=1)
    day, _, hhmm = rest.partition(":")
    hh, mm = _parse_hhmm(hhmm)
    slot = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    slot -= timedelta(days=(now.weekday() - WEEKDAYS.index(day)) % 7)
    return slot if slot <= now else slot - timedelta(days=7)


def is_due(schedule: str | None, last_enqueued_at: datetime | None, now: datetime) -> bool:
    if schedule is None:
        return False
    slot = previous_slot(schedule, now)
    return last_enqueued_at is None or last_enqueued_at < slot


async def seed_job_definitions(sessions: async_sessionmaker[AsyncSession], specs: dict[str, JobSpec]) -> None:
    """Insert a row for every registered job (keeping schedules an admin already changed); rows of jobs that
    no longer exist (e.g. ``prune-job-runs``, now ``prune-history``) go, so the Jobs page offers only real jobs."""
    async with sessions() as session:
        existing = {d.name: d for d in (await session.exec(select(JobDefinition))).all()}
        for name in set(existing) - set(specs):
            await session.delete(existing.pop(name))
        now = datetime.now(UTC)
        for spec in specs.values():
            if spec.name in existing:
                existing[spec.name].description = spec.description
                continue
            # A new scheduled job counts as just enqueued, so a first start doesn't fire everything at once.
            session.add(
                JobDefinition(
                    name=spec.name,
                    description=spec.description,
                    schedule=spec.schedule,
                    last_enqueued_at=now if spec.schedule else None,
                )
            )
        await session.commit()
