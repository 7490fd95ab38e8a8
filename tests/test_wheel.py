"""A wheel built from the repository, installed (not editable) into a fresh virtualenv, migrates and serves.

The wheel is built from a copy of exactly ``SOURCES`` (what the Dockerfile copies too), which is deleted before
anything runs, and every command runs from a directory outside the repository: only the installed copy can
answer. The fresh virtualenv gets Marquee from the wheel alone; its third-party dependencies come from the
environment running the tests, appended to ``sys.path`` by a ``.pth`` line (``sys.path.append`` processes no
``.pth`` files there, so that environment's editable Marquee stays invisible; the test checks it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
# Everything a wheel (and the Docker image) is built from.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "sidecar", "providers", "templates", "migrations", "static")

pytestmark = pytest.mark.slow


@dataclass
class Installed:
    venv: Path
    cwd: Path  # outside the repository
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _check(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def _sh(*args: str) -> subprocess.CompletedProcess[str]:
    return _check(subprocess.run(args, capture_output=True, text=True, timeout=300))


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    # Outside pytest's tmp_path: the embedded PostgreSQL runs as user "pgserver" (see tests/test_cli.py).
    root = Path(tempfile.mkdtemp(prefix="marquee-wheel-"))
    try:
        src, dist, venv, cwd = root / "src", root / "dist", root / "venv", root / "cwd"
        src.mkdir()
        cwd.mkdir()
        for name in SOURCES:
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(REPO / name, src / name)
        pip = [sys.executable, "-m", "pip"]
        _sh(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(src))
        shutil.rmtree(src)
        (wheel,) = dist.glob("marquee-*.whl")
        _sh(sys.executable, "-m", "venv", "--without-pip", str(venv))
        python = str(venv / "bin" / "python")
        _sh(*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", str(wheel))
        purelib = _sh(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
        deps = sysconfig.get_path("purelib")  # this environment's third-party packages
        (Path(purelib) / "marquee-test-deps.pth").write_text(f"import sys; sys.path.append({deps!r})\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARQUEE_", "PYTHON", "VIRTUAL_ENV"))}
        env |= {"MARQUEE_DATA_DIR": str(root / "data"), "MARQUEE_PORT": str(free_port()), "HF_HUB_OFFLINE": "1"}
        yield Installed(venv=venv, cwd=cwd, env=env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_installed_copy_is_the_one_that_runs(installed: Installed) -> None:
    script = (
        "import json, sys, importlib.metadata as m, sidecar, providers.simulator, sidecar.resources as r; "
        "print(json.dumps({'files': [sidecar.__file__, providers.simulator.__file__, str(r.templates_dir()),"
        " str(r.migrations_dir()), str(r.static_dir())],"
        " 'dist': str(m.distribution('marquee').locate_file('')), 'path': sys.path,"
        " 'editable': [n for n in sys.modules if 'editable' in n]}))"
    )
    found = json.loads(_check(installed.run("python", "-c", script)).stdout)
    for path in [*found["files"], found["dist"]]:
        assert Path(path).is_relative_to(installed.venv), path
    deps = Path(sysconfig.get_path("purelib")).resolve()
    assert not [p for p in found["path"] if p and Path(p).resolve() != deps and Path(p).resolve().is_relative_to(REPO)]
    assert found["editable"] == []  # the test environment's editable Marquee finder was not loaded
    assert not [p for p in found["path"] if p and Path(p).resolve() == Path.cwd().resolve()]


def test_every_template_migration_and_static_file_is_installed(installed: Installed) -> None:
    """The installed folders hold exactly the repository's files, and every template compiles there."""
    script = (
        "import json, sidecar.resources as r, sidecar.app; from sidecar.web.templating import templates; "
        "[templates.env.get_template(name) for name in templates.env.list_templates()]; "
        "print(json.dumps({name: str(getattr(r, name + '_dir')()) for name in ('templates', 'migrations', 'static')}))"
    )
    folders = json.loads(_check(installed.run("python", "-c", script)).stdout)
    for name, where in folders.items():
        installed_files = {p.relative_to(where).as_posix() for p in Path(where).rglob("*") if p.is_file()}
        repo_files = {
            p.relative_to(REPO / name).as_posix()
            for p in (REPO / name).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert installed_files == repo_files, name
        assert repo_files, name


def test_the_tokenizer_ranks_are_installed_and_count_offline(installed: Installed) -> None:
    """The cl100k_base ranks ship inside the wheel (package data): the installed copy counts from its own file."""
    script = (
        "import json, importlib.resources as r, providers.ai.tokens as t; "
        "f = r.files('providers.ai.data'); "
        "print(json.dumps({'ranks': str(f / 'cl100k_base.tiktoken'),"
        " 'notice': (f / 'cl100k_base.NOTICE.txt').is_file(),"
        " 'count': t.count_tokens(['hello world'], 'text-embedding-3-small').tokens}))"
    )
    env = {**installed.env, "TIKTOKEN_CACHE_DIR": str(installed.cwd / "no-tiktoken-cache")}
    result = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", script],
        cwd=installed.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = json.loads(_check(result).stdout)
    ranks = Path(found["ranks"])
    assert (
        ranks.is_relative_to(installed.venv)
        and ranks.read_bytes() == (REPO / "providers/ai/data/cl100k_base.tiktoken").read_bytes()
    )
    assert found["notice"] and found["count"] == 2
    assert not (installed.cwd / "no-tiktoken-cache").exists()  # nothing fetched or cached by tiktoken


def test_migrate_then_serve_login_static_and_healthz(installed: Installed) -> None:
    migrated = _check(installed.run("marquee", "migrate", timeout=180))
    assert "Traceback" not in migrated.stderr
    again = _check(installed.run("marquee", "migrate", timeout=180))  # idempotent: nothing left to apply
    assert "Traceback" not in again.stderr

    port = installed.env["MARQUEE_PORT"]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(installed.venv / "bin" / "marquee"), "serve"],  # with its worker: /healthz wants a heartbeat
        cwd=installed.cwd,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, last = time.monotonic() + 120, "no answer"
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, f"marquee serve: /healthz not 200 within 120 s ({last})"
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if health.status_code == 200:
                    break
                last = f"{health.status_code} {health.text}"
            time.sleep(0.2)
        assert health.json()["status"] == "ok", health.text

        login = httpx.get(f"{base}/login", timeout=10)
        assert login.status_code == 200, login.text
        assert "<h1>Log in</h1>" in login.text and 'name="csrf_token"' in login.text  # templates/login.html
        assert 'href="/static/marquee.css"' in login.text  # templates/base.html
        css = httpx.get(f"{base}/static/marquee.css", timeout=10)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.content == (REPO / "static" / "marquee.css").read_bytes()
        js = httpx.get(f"{base}/static/marquee.js", timeout=10)
        assert js.status_code == 200 and js.content == (REPO / "static" / "marquee.js").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output


def test_simulator_runs_from_the_installed_package(installed: Installed) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(installed.venv / "bin" / "marquee"), "simulator", "--", "--port", str(port), "--movies", "20"],
        cwd=installed.cwd,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the simulator did not answer within 60 s"
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/System/Info/Public", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert info.status_code == 200 and info.json()["ProductName"], info.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_evaluate_says_where_its_dataset_should_be(installed: Installed) -> None:
    """An installed Marquee has no ../shared/data: the dataset is the current directory unless --dataset says."""
    result = installed.run("marquee", "evaluate")
    assert result.returncode == 2, result.stderr
    assert str(installed.cwd / "movies.jsonl") in result.stderr and "--dataset" in result.stderr
    assert "Traceback" not in result.stderr
