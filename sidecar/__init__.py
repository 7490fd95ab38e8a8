"""Marquee: personal, explained AI Picks libraries for Jellyfin and Emby."""

__version__ = "0.1.0"
