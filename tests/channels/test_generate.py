"""Generate: texts proposed from the examples and genres (a chat model's JSON, or the grounded template when
there is none or its answer is unusable), applied only where the owner left a field empty, then the fill."""

from __future__ import annotations

import json

import pytest

from sidecar.channel_generate import ChannelFacts, generate_channel, template_proposal
from sidecar.db.models import AppUser, Channel, Item, MediaServer
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from sidecar.services import Services
from tests.embeddings.doubles import HashingEmbedder


class ScriptedWriter:
    """A chat model that answers with a fixed text (the real client is tested in tests/ai)."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    @property
    def name(self) -> str:
        return "openai:scripted"

    async def taste_profile(self, facts: object) -> str:
        return self.answer

    async def why_picked(self, facts: object) -> str:
        return self.answer

    async def complete(self, prompt: str, fallback: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_the_template_uses_only_the_facts() -> None:
    facts = ChannelFacts(
        media_type="movies",
        examples=["Toy Story (1995)", "Up (2009)"],
        example_genres=["Animation", "Family", "Comedy"],
    )
    proposal = template_proposal(facts)
    assert proposal.name == "Animation & Family movies"
    assert proposal.description == "Animation, family and comedy movies in the spirit of Toy Story and Up."
    assert proposal.preference == "animation, family and comedy movies in the spirit of Toy Story and Up"
    assert template_proposal(ChannelFacts(media_type="series")).name == "My series"
    assert template_proposal(ChannelFacts(media_type="movies", own_words="noir")).preference == "noir"


async def _channel(services: Services, **fields: object) -> int:
    async with services.sessions() as session:
        server = MediaServer(kind="jellyfin", url="http://unused", server_id="s")
        session.add(server)
        await session.flush()
        assert server.id is not None
        owner = AppUser(server_id=server.id, provider_id="u1", name="alice")
        session.add(owner)
        items = [
            Item(server_id=server.id, provider_id=f"m{n}", kind="Movie", name=name, year=2000 + n, genres=genres)
            for n, (name, genres) in enumerate(
                [("Laugh Track", ["Comedy"]), ("Sunny Days", ["Comedy", "Family"]), ("Night Fog", ["Horror"])]
            )
        ]
        session.add_all(items)
        await session.flush()
        assert owner.id is not None and items[0].id is not None
        channel = Channel(owner_id=owner.id, name="New channel", example_item_ids=[items[0].id], **fields)
        session.add(channel)
        await session.commit()
        assert channel.id is not None
        channel_id = channel.id
    services.embedder = HashingEmbedder(16)
    await embed_items(services, services.embedder, MediaType.MOVIES, Progress.detached())
    return channel_id


async def _row(services: Services, channel_id: int) -> Channel:
    async with services.sessions() as session:
        row = await session.get(Channel, channel_id)
        assert row is not None
        return row


async def test_a_chat_models_proposal_fills_the_empty_fields_and_the_channel(services: Services) -> None:
    channel_id = await _channel(services)
    answer = {"name": "Feel-good laughs", "description": "Light comedies.", "preference": "I want cosy comedies."}
    writer = ScriptedWriter("```json\n" + json.dumps(answer) + "\n```")
    services.text_generator = writer
    proposal = await generate_channel(services, channel_id)
    assert proposal.source == "llm"
    row = await _row(services, channel_id)
    assert (row.name, row.description, row.text_preferences) == (
        "Feel-good laughs",
        "Light comedies.",
        "I want cosy comedies.",
    )
    assert row.item_ids and row.refreshed_at is not None  # filled
    facts = json.loads(writer.prompts[0].split("\n", 1)[1])
    assert facts["examples"] == ["Laugh Track (2000)"] and facts["example_genres"] == ["Comedy"]


@pytest.mark.parametrize("answer", ["not json", '{"name": "x"}', "[1, 2]"])
async def test_an_unusable_answer_falls_back_to_the_template(services: Services, answer: str) -> None:
    channel_id = await _channel(services, text_preferences="my own words", description="mine")
    services.text_generator = ScriptedWriter(answer)
    proposal = await generate_channel(services, channel_id)
    assert proposal.source == "template" and proposal.name == "My own words"
    assert proposal.description == "My own words in the spirit of Laugh Track."
    row = await _row(services, channel_id)
    assert row.name == "My own words"
    assert (row.text_preferences, row.description) == ("my own words", "mine")  # the owner's words are kept
