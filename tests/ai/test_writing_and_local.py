from __future__ import annotations

import numpy as np
import pytest

from providers.ai import TemplateWriter, build_embedder, build_text_generator
from providers.ai.local import LocalEmbedder
from providers.ai.writing import PickFacts, TasteFacts


async def test_template_writer_uses_only_the_given_facts() -> None:
    writer = build_text_generator(None)
    assert isinstance(writer, TemplateWriter)
    why = await writer.why_picked(
        PickFacts(
            title="Prometheus",
            evidence=[("Alien", 0.93), ("Aliens", 0.9), ("Sunshine", 0.8)],
            matching_genres=["Science Fiction"],
            new_genres=["Mystery"],
            community_rating=7.04,
            match_percent=87,
        )
    )
    assert why == (
        "Because you watched Alien, Aliens and Sunshine. It is Science Fiction, like much of what you watch. "
        "It also brings in Mystery, which is new for you. Rated 7.0/10 by the community. 87% match."
    )
    assert await writer.why_picked(PickFacts(title="Bare")) == "Bare is a pick for you."
    profile = await writer.taste_profile(
        TasteFacts(
            media_type="series",
            top_genres=["Drama", "Crime"],
            recent_titles=["Dark"],
            typical_decade=2010,
            titles_watched=4,
        )
    )
    assert (
        profile
        == "Mostly Drama and Crime series. Most from the 2010s. Lately: Dark. Based on 4 series watched."
    )
    assert "No movies watched yet" in await writer.taste_profile(TasteFacts(media_type="movie"))


@pytest.mark.model
async def test_local_model_embeds_for_real() -> None:
    embedder = build_embedder("local")
    assert isinstance(embedder, LocalEmbedder)
    assert embedder.name == "local:all-MiniLM-L6-v2"
    texts = [
        "Alien (1979). Genres: Horror, Science Fiction. A crew is hunted by a creature aboard a spaceship.",
        "Aliens (1986). Genres: Action, Science Fiction. Marines fight creatures on a distant colony.",
        "Notting Hill (1999). Genres: Comedy, Romance. A bookshop owner falls for a film star in London.",
    ]
    vectors = await embedder.embed(texts)
    assert vectors.shape == (3, await embedder.dimension()) == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert (await embedder.embed([])).shape == (0, 384)
