"""Package layout (the metadata is in pyproject.toml).

The repository keeps ``templates/``, ``migrations/`` and ``static/`` as top-level folders; the distribution
ships them inside the ``sidecar`` package (``sidecar/templates`` …, with every subfolder) so an installed
Marquee can migrate and render pages (``sidecar.resources`` finds them). pyproject.toml alone cannot add
such mapped folders to the discovered packages, hence this file. Which files they carry: package-data in
pyproject.toml.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
DATA_PACKAGES = {
    ".".join(("sidecar", *folder.relative_to(HERE).parts)): folder.relative_to(HERE).as_posix()
    for top in ("templates", "migrations", "static")
    for folder in [HERE / top, *sorted(p for p in (HERE / top).rglob("*") if p.is_dir() and p.name != "__pycache__")]
}

setup(
    packages=[*find_packages(include=["sidecar", "sidecar.*", "providers", "providers.*"]), *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
)
