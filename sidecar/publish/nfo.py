"""Kodi-format NFO files (``movie.nfo``, ``tvshow.nfo``), which Jellyfin, Emby and Kodi all read.

The output is deterministic for the same inputs, so its hash tells whether a title changed. Ids in
``uniqueid`` are the real IMDb/TMDb/TVDB ids of the original, so the server links our copy to the same
metadata and keeps playback state keyed on those ids.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from sidecar.publish.naming import sort_title
from sidecar.publish.sources import RankedSource

WHY_HEADING = "Why we picked this:"
MAX_ACTORS = 20
UNIQUE_ID_ORDER = {"Movie": ("imdb", "tmdb", "tvdb"), "Series": ("tvdb", "tmdb", "imdb")}


def date_added(anchor: datetime, slot: int) -> datetime:
    """The lowest slot is the newest, so "date added, newest first" is the pick order too."""
    return anchor - timedelta(seconds=slot)


def plot_text(overview: str | None, explanation: str | None) -> str:
    parts = []
    if explanation and explanation.strip():
        parts.append(f"{WHY_HEADING} {explanation.strip()}")
    if overview and overview.strip():
        parts.append(overview.strip())
    return "\n\n".join(parts)


def _add(parent: ET.Element, tag: str, text: object | None, **attrs: str) -> ET.Element | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    element = ET.SubElement(parent, tag, attrs)
    element.text = str(text)
    return element


def _rating(value: float) -> str:
    return f"{value:.1f}"


def build_nfo(pick: RankedSource, *, anchor: datetime) -> bytes:
    """``<movie>`` or ``<tvshow>`` for one pick at its slot (its rank when it has none). Nothing else in
    it depends on the rank, so a title that keeps its slot keeps its bytes."""
    src = pick.source
    slot = pick.slot if pick.slot is not None else pick.rank
    root = ET.Element("tvshow" if src.kind == "Series" else "movie")
    _add(root, "title", src.name)
    _add(root, "originaltitle", src.original_title or src.name)
    _add(root, "sorttitle", sort_title(slot, src.name))
    _add(root, "year", src.year)
    if src.premiere_date is not None:
        _add(root, "premiered", src.premiere_date.strftime("%Y-%m-%d"))
    _add(root, "plot", plot_text(src.overview, pick.explanation))
    _add(root, "tagline", src.tagline)
    if src.runtime_ticks:
        _add(root, "runtime", round(src.runtime_ticks / 600_000_000))
    _add(root, "mpaa", src.official_rating)
    if src.community_rating is not None:
        ratings = ET.SubElement(root, "ratings")
        rating = ET.SubElement(ratings, "rating", {"name": "default", "max": "10", "default": "true"})
        _add(rating, "value", _rating(src.community_rating))
        _add(root, "rating", _rating(src.community_rating))
    if src.critic_rating is not None:
        _add(root, "criticrating", _rating(src.critic_rating))
    for genre in src.genres:
        _add(root, "genre", genre)
    for studio in src.studios:
        _add(root, "studio", studio)
    people = [p for p in src.people if isinstance(p, dict) and p.get("name")]
    for person in people:
        if person.get("type") == "Director":
            _add(root, "director", person["name"])
    for person in people:
        if person.get("type") == "Writer":
            _add(root, "credits", person["name"])
    actors = [p for p in people if p.get("type") in ("Actor", "GuestStar", None)][:MAX_ACTORS]
    for order, person in enumerate(actors):
        actor = ET.SubElement(root, "actor")
        _add(actor, "name", person["name"])
        _add(actor, "role", person.get("role"))
        _add(actor, "order", order)
    first = True
    for kind in UNIQUE_ID_ORDER.get(src.kind, UNIQUE_ID_ORDER["Movie"]):
        value = src.provider_id_of(kind)
        if value:
            attrs = {"type": kind, "default": "true"} if first else {"type": kind}
            _add(root, "uniqueid", value, **attrs)
            first = False
    if src.kind == "Series":
        _add(root, "status", src.status)
    _add(root, "dateadded", date_added(anchor, slot).strftime("%Y-%m-%d %H:%M:%S"))
    _add(root, "lockdata", "true")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body + "\n").encode("utf-8")
