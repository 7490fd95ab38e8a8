"""Jinja templates of the simulator's control page."""
