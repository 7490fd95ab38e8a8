"""Jinja templates from the top-level ``templates/`` folder (base.html, _partials/, one page per screen), and
the stylesheet and scripts they load from ``static/`` (served at ``/static``; the CSP allows no inline ones)."""

from __future__ import annotations

from pathlib import Path

from starlette.templating import Jinja2Templates

from sidecar import __version__

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["version"] = __version__
