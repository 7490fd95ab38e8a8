"""Data files shipped with the simulator (the demo catalogue)."""
