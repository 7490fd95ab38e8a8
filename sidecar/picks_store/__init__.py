"""Recommendations in the database: the recommender's inputs read and cached (``inputs``), the settings
a refresh uses (``config``), stored runs and picks (``runs``), the "why picked" texts (``explain``),
taste profiles (``taste``), the refresh of one user or all (``refresh``) and similar titles through
pgvector (``similar``). The scoring itself is the pure ``sidecar.recommender``; this package feeds it
from PostgreSQL and stores what it returns.
"""
