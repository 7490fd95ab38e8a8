"""Where Marquee's data folders are: the page templates, the SQL migrations and the static CSS/JS.

In the repository they are the top-level folders ``templates/``, ``migrations/`` and ``static/``; the
distribution ships them inside the ``sidecar`` package (``sidecar/templates`` …, see ``setup.py``), so a
non-editable install from a wheel has them too. Both are found through ``importlib.resources``: an installed
copy has ``sidecar/<name>``; an editable install or a source checkout has ``<name>/`` beside the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sidecar.errors import ConfigError

__all__ = ["migrations_dir", "static_dir", "templates_dir"]


def _folder(name: str) -> Path:
    package = Path(str(files("sidecar")))
    if (package / name).is_dir():
        return package / name  # installed from a wheel
    if (package.parent / "pyproject.toml").is_file() and (package.parent / name).is_dir():
        return package.parent / name  # editable install or source checkout
    raise ConfigError(
        f"Marquee's {name}/ folder is missing (looked in {package / name} and {package.parent / name}); "
        "reinstall Marquee (pip install marquee-*.whl, or pip install -e . from the repository)"
    )


def templates_dir() -> Path:
    """The Jinja templates (``base.html``, ``_partials/``, one page per screen)."""
    return _folder("templates")


def migrations_dir() -> Path:
    """The ordered SQL migrations (``NNNN_name.sql``)."""
    return _folder("migrations")


def static_dir() -> Path:
    """The stylesheet and scripts served at ``/static``."""
    return _folder("static")
