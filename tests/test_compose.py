"""compose.yaml and the Dockerfile cannot run here (no Docker engine); check them by reading."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sidecar.cli import build_parser
from sidecar.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _subcommands() -> set[str]:
    parser = build_parser()
    return set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_marquee_service_runs_a_real_subcommand_with_known_settings() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    known = {f"MARQUEE_{name.upper()}" for name in Settings.model_fields}
    marquee_services = 0
    for name, service in compose["services"].items():
        command = service.get("command")
        if not (isinstance(command, list) and command and command[0] == "marquee"):
            continue
        marquee_services += 1
        assert command[1] in _subcommands(), f"{name}: 'marquee {command[1]}' is not a subcommand"
        parser = build_parser()
        parser.parse_args(command[1:])  # flags exist too (exits on an unknown flag)
        env = service.get("environment", {})
        unknown = {key for key in env if key.startswith("MARQUEE_")} - known
        assert not unknown, f"{name} sets unknown settings {unknown}"
    assert marquee_services == 2


def test_dockerfile_copies_what_the_app_is_built_from() -> None:
    """The image copies exactly what tests/test_wheel.py builds a working wheel from (setup.py included)."""
    from tests.test_wheel import SOURCES

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {name for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M) for name in line.split()}
    assert set(SOURCES) <= copied, set(SOURCES) - copied
    assert {"templates", "static", "migrations", "setup.py"} <= set(SOURCES)
    assert "torch==2.13.0" in dockerfile


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [f"MARQUEE_{n.upper()}" for n in Settings.model_fields if f"MARQUEE_{n.upper()}" not in readme]
    assert not missing, f"README lacks {missing}"
