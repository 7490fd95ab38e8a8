"""The embedded PostgreSQL: pgserver's PostgreSQL 16 (with pgvector) under ``DATA_DIR/postgres``.

A server left behind by a Marquee that was killed (kill -9, the OOM killer) is **reused**. pg_ctl detaches
the postmaster, so it outlives a killed Marquee; PostgreSQL's own lock (``postmaster.pid``) rules out a
second server on the same data, and pgserver joins the running one. The killed process is taken off
pgserver's list of users (its handle pids), so this Marquee stops it on exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.embedded import one_line, process_running, to_sqlalchemy_url
from sidecar.errors import ConfigError

log = logging.getLogger("sidecar.embedded")  # one logger for both servers and what they share


def _import_pgserver() -> Any:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; harmless
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


class _PgserverQuiet(logging.Filter):
    """pgserver logs whole logs and outputs when a command fails; keep the one line that says why, for the
    error Marquee reports."""

    last_failure = ""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Failed postgres command") and isinstance(record.args, tuple) and len(record.args) == 5:
            failed, _, _, stdout, stderr = record.args
            command = failed[1][0] if isinstance(failed, tuple) and len(failed) > 1 and failed[1] else "command"
            lines = [line.strip() for line in f"{stdout}\n{stderr}".splitlines() if line.strip()]
            errors = [line for line in lines if "error" in line.lower() or "FATAL" in line] or lines[-1:]
            _PgserverQuiet.last_failure = f"{Path(str(command)).name}: {errors[0] if errors else 'failed'}"
            return False
        return not message.startswith(("Failed to start server", "Timeout starting server"))

    @classmethod
    def take(cls, exc: BaseException) -> str:
        reason, cls.last_failure = cls.last_failure, ""
        return reason or one_line(exc)


@dataclass
class EmbeddedPostgres:
    """pgserver's PostgreSQL 16 (with pgvector) on ``data_dir/postgres``, reached over a unix socket."""

    data_dir: Path
    database: str = "marquee"
    _server: Any = field(default=None, init=False, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def name(self) -> str:
        return f"the embedded PostgreSQL in {self.pgdata}"

    def start(self) -> str:
        """Start (or join) the server and create the database; return a SQLAlchemy URL."""
        import psycopg

        pgserver = _import_pgserver()
        pgdata = self.pgdata
        pgdata.mkdir(parents=True, exist_ok=True)
        quiet = logging.getLogger("pgserver")
        if not any(isinstance(f, _PgserverQuiet) for f in quiet.filters):
            quiet.addFilter(_PgserverQuiet())
        _forget_dead_handles(pgdata)
        left = _running_postmaster(pgdata)
        if left is not None and not _live_handles(pgdata):
            log.info("reusing %s (pid %d), left running by a Marquee that did not stop cleanly", self.name, left)
        try:
            self._server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
        except Exception as exc:  # pgserver raises plain exceptions; make them one clear line
            raise ConfigError(
                f"Could not start {self.name}: {_PgserverQuiet.take(exc)} (its log: {_pg_log_reason(pgdata / 'log')})"
            ) from exc
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        return to_sqlalchemy_url(self._server.get_uri(self.database))

    @property
    def pid(self) -> int | None:
        return None if self._server is None else int(self._server.get_postmaster_info().pid)

    def alive(self) -> bool:
        if self._server is None:
            return False
        process = self._server.get_postmaster_info().process
        return process is not None and process_running(process)

    def death(self) -> str:
        return f"postmaster pid {self.pid} is gone; its log: {_pg_log_reason(self.pgdata / 'log')}"

    def restart(self) -> None:
        """pg_ctl start on the same data dir and socket dir, so the database URL stays the same."""
        pgserver = _import_pgserver()
        self._clear_zombie_lock()
        try:
            with pgserver.PostgresServer._lock:  # the inter-process lock pgserver takes around starting a server
                self._server.ensure_postgres_running()
        except Exception as exc:
            raise ConfigError(f"{_PgserverQuiet.take(exc)} (its log: {_pg_log_reason(self.pgdata / 'log')})") from exc
        if not self.alive():
            raise ConfigError("its old postmaster has not exited yet")

    def _clear_zombie_lock(self) -> None:
        """A postmaster killed outright is a zombie until PID 1 reaps it (some container inits never do), and
        both pgserver and PostgreSQL take the zombie's pid in its lock files for a running server. Once no
        process of the old server is left (they all work in the data dir), those lock files are stale."""
        import psutil

        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            if psutil.Process(int(lines[0])).status() != psutil.STATUS_ZOMBIE:
                return
        except (OSError, ValueError, IndexError, psutil.Error):
            return  # no lock file, or a dead pid: PostgreSQL deals with those itself
        target = str(self.pgdata.resolve())
        left = [p.pid for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == target and process_running(p)]
        if left:
            raise ConfigError(f"processes of the old server are still running ({', '.join(map(str, left))})")
        if len(lines) > 4 and lines[3].strip() and lines[4].strip():  # port, socket dir
            for name in (f".s.PGSQL.{lines[3].strip()}.lock", f".s.PGSQL.{lines[3].strip()}"):
                (Path(lines[4].strip()) / name).unlink(missing_ok=True)
        pidfile.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server, unless another process still uses it (pgserver counts its users)."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.cleanup()  # with cleanup_mode="stop" this stops it; it never deletes the data
            except Exception as exc:  # e.g. it died and was not restarted
                log.warning("stopping %s: %s", self.name, one_line(exc))
            atexit.unregister(server._cleanup)


def start_postgres(data_dir: Path, database: str = "marquee") -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir/postgres``; return a SQLAlchemy URL.

    It is stopped when this process exits (pgserver's atexit hook); ``EmbeddedPostgres`` can stop it sooner.
    """
    return EmbeddedPostgres(data_dir, database).start()


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops its server when the last process using it exits, counting them in a pid list; a
    process that was killed never takes itself off, and the server would then run on forever."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _live_handles(pgdata: Path) -> list[int]:
    try:
        pids = json.loads((pgdata / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int) and _alive(pid)] if isinstance(pids, list) else []


def _running_postmaster(pgdata: Path) -> int | None:
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if process_running(process) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pg_log_reason(path: Path) -> str:
    """The last FATAL or PANIC line near the end of a PostgreSQL log, else its last line."""
    try:
        recent = path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
    except OSError:
        return "(no log)"
    fatal = [line for line in recent if "FATAL:" in line or "PANIC:" in line]
    return (fatal or recent or ["(empty log)"])[-1].strip()
