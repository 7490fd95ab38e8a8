"""Generate: a channel's name, description and text preference proposed from its examples and genres, then the
channel filled (the seed's "Generate with AI").

With a chat model configured (``MARQUEE_OPENAI_CHAT_MODEL``) the model writes the three texts from the facts
only (the examples' titles, years and genres, the chosen genres, the owner's own words); whatever it answers
that is not a JSON object with usable texts falls back to the template. With none, ``template_proposal``
writes them from the same facts, inventing nothing. Generate fills in what the owner left empty (a name that
is still the default one, an empty description or preference) and never overwrites their own words.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel import col, select

from providers.ai.writing import TemplateWriter
from sidecar.ai_factory import get_text_generator
from sidecar.channels import fill_channel
from sidecar.db.models import Channel, Item
from sidecar.errors import NotFound
from sidecar.media_types import MediaType
from sidecar.services import Services

log = logging.getLogger(__name__)

DEFAULT_NAMES = frozenset({"", "new channel", "my channel", "untitled"})
NAME_MAX, DESCRIPTION_MAX, PREFERENCE_MAX = 100, 500, 2000


@dataclass(frozen=True)
class ChannelFacts:
    media_type: str  # movies | series
    examples: list[str] = field(default_factory=list)  # "Title (Year)"
    example_genres: list[str] = field(default_factory=list)  # most common first
    genre_filters: list[str] = field(default_factory=list)
    own_words: str = ""


@dataclass(frozen=True)
class Proposal:
    name: str
    description: str
    preference: str
    source: str  # template | llm

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class _Completes(Protocol):
    async def complete(self, prompt: str, fallback: str) -> str: ...


def _join(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1] if values else ""


def template_proposal(facts: ChannelFacts) -> Proposal:
    kind = "series" if facts.media_type == MediaType.SERIES else "movies"
    genres = list(dict.fromkeys([*facts.genre_filters, *facts.example_genres]))[:3]
    titles = [t.rsplit(" (", 1)[0] for t in facts.examples[:3]]
    words = " ".join(facts.own_words.split())
    if words and len(words) <= 40:
        name = words[:1].upper() + words[1:]
    elif genres:
        name = f"{' & '.join(genres[:2])} {kind}"
    elif titles:
        name = f"More like {titles[0]}"
    else:
        name = f"My {kind}"
    parts = []
    if words and len(words) <= 120:
        parts.append(words)
    elif genres:
        parts.append(f"{_join([g.lower() for g in genres])} {kind}")
    else:
        parts.append(kind)
    if titles:
        parts.append(f"in the spirit of {_join(titles)}")
    sentence = " ".join(parts)
    description = sentence[:1].upper() + sentence[1:] + "."
    preference = facts.own_words.strip() or " ".join(parts)
    return Proposal(
        name=name[:NAME_MAX],
        description=description[:DESCRIPTION_MAX],
        preference=preference[:PREFERENCE_MAX],
        source="template",
    )


def _parse(answer: str, fallback: Proposal) -> Proposal:
    text = answer.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return fallback
    if not isinstance(data, dict):
        return fallback
    values = {k: str(data.get(k) or "").strip() for k in ("name", "description", "preference")}
    if not all(values.values()):
        return fallback
    return Proposal(
        name=values["name"][:NAME_MAX],
        description=values["description"][:DESCRIPTION_MAX],
        preference=values["preference"][:PREFERENCE_MAX],
        source="llm",
    )


async def propose(services: Services, facts: ChannelFacts) -> Proposal:
    fallback = template_proposal(facts)
    generator = get_text_generator(services)
    complete = getattr(generator, "complete", None)
    if isinstance(generator, TemplateWriter) or complete is None:
        return fallback
    prompt = (
        "Propose a media-server playlist from these facts. Answer with ONLY a JSON object with the keys "
        '"name" (at most 6 words), "description" (one sentence) and "preference" (one or two sentences in the '
        "owner's voice describing what belongs in it). Use only the facts.\n" + json.dumps(asdict(facts))
    )
    answer = await complete(prompt, json.dumps(fallback.as_dict()))
    return _parse(answer, fallback)


async def channel_facts(services: Services, channel: Channel) -> ChannelFacts:
    async with services.sessions() as session:
        examples = (await session.exec(select(Item).where(col(Item.id).in_(channel.example_item_ids or [-1])))).all()
    by_id = {i.id: i for i in examples}
    ordered = [by_id[i] for i in channel.example_item_ids if i in by_id]
    counts = Counter(g for item in ordered for g in item.genres)
    return ChannelFacts(
        media_type=channel.media_type,
        examples=[f"{i.name} ({i.year})" if i.year else i.name for i in ordered],
        example_genres=[g for g, _ in counts.most_common(5)],
        genre_filters=list(channel.genre_filters),
        own_words=channel.text_preferences,
    )


async def generate_channel(services: Services, channel_id: int) -> Proposal:
    """Propose the texts, apply them where the owner left the field empty, then fill the channel."""
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"There is no channel {channel_id}.")
    proposal = await propose(services, await channel_facts(services, channel))
    async with services.sessions() as session:
        row = await session.get(Channel, channel_id)
        if row is None:
            raise NotFound(f"There is no channel {channel_id}.")
        if row.name.strip().lower() in DEFAULT_NAMES:
            row.name = proposal.name
        if not row.description.strip():
            row.description = proposal.description
        if not row.text_preferences.strip():
            row.text_preferences = proposal.preference
        row.updated_at = datetime.now(UTC)
        session.add(row)
        await session.commit()
    await fill_channel(services, channel_id)
    return proposal


def proposal_view(proposal: Proposal) -> dict[str, Any]:
    return proposal.as_dict()
