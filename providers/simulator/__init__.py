"""A media-server simulator that is a small Jellyfin or Emby (see ``state.Simulator``)."""

from providers.simulator.catalog import Catalog, CatalogMovie, CatalogSeries, load_catalog, synthetic_catalog
from providers.simulator.serve import run_simulator_cli, serve_simulator
from providers.simulator.state import SimError, Simulator

__all__ = [
    "Catalog",
    "CatalogMovie",
    "CatalogSeries",
    "SimError",
    "Simulator",
    "load_catalog",
    "run_simulator_cli",
    "serve_simulator",
    "synthetic_catalog",
]
