"""Pieces of the offline quality protocol (`sidecar.evaluate`): user folds, cross-validated choice
of each method's settings, and the printed table."""
