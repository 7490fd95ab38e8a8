"""Jinja templates from the top-level ``templates/`` folder (base.html, _partials/, one page per screen), and
the stylesheet and scripts they load from ``static/`` (served at ``/static``; the CSP allows no inline ones).
Both ship inside the installed package; ``sidecar.resources`` finds them."""

from __future__ import annotations

from starlette.templating import Jinja2Templates

from sidecar import __version__
from sidecar.resources import static_dir, templates_dir
from sidecar.web import charts

TEMPLATES_DIR = templates_dir()
STATIC_DIR = static_dir()

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["version"] = __version__
templates.env.globals["charts"] = charts  # server-rendered SVG charts: {{ charts.donut(rows, "title") }}
