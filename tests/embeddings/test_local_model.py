"""The real local model end to end: the default settings embed the catalogue and drive the picks."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import text

from providers.ai.local_model import LocalModel
from sidecar.ai_factory import get_embedder
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs
from sidecar.picks_store.similar import similar_items
from sidecar.services import Services
from tests.recommendations.catalogue import MOVIES, seed_catalogue, seed_histories

pytest.importorskip("sentence_transformers")


@pytest.mark.model
async def test_default_settings_embed_with_the_local_model_and_recommend(services: Services) -> None:
    seeded = await seed_catalogue(services.engine)
    await seed_histories(services.engine, seeded)
    assert get_embedder(services).name == "local:all-MiniLM-L6-v2"
    jobs = load_jobs()
    report = await jobs["generate-embeddings"].func(services, Progress.detached(), then_recommend=False)
    assert report is not None and report["embedded"] == len(MOVIES) + 1 and report["dimension"] == 384
    await jobs["generate-recommendations"].func(services, Progress.detached())

    space = {seeded.items[t] for t in ("Nebula Drift", "Mars Colony")}
    async with services.engine.connect() as conn:
        top = (
            await conn.execute(
                text(
                    "SELECT r.item_id FROM recommendation r JOIN recommendation_run run ON run.id = r.run_id"
                    " WHERE run.user_id = :u AND run.media_type = 'movies' ORDER BY r.rank LIMIT 1"
                ),
                {"u": seeded.users["alice"]},
            )
        ).scalar_one()
    assert top in space
    similar = await similar_items(services, seeded.items["Dark Cellar"], limit=2)
    assert {s.title for s in similar} == {"Haunted Manor", "Ritual Night"}


_TEXTS = [
    "Alien (1979). Genres: Horror, Science Fiction. A crew is hunted by a creature aboard a spaceship.",
    "Notting Hill (1999). Genres: Comedy, Romance. A bookshop owner falls for a film star in London.",
    "Heat (1995). Genres: Crime, Thriller. A detective and a thief circle each other across Los Angeles.",
    "Spirited Away (2001). Genres: Animation, Fantasy. A girl works in a bathhouse for spirits.",
]

_EMBED_IN_A_PROCESS_OF_ITS_OWN = """
import sys
import numpy as np
from providers.ai.local import LocalEmbedder
embedder = LocalEmbedder()
vectors = embedder.embed_sync(sys.argv[1:])
assert embedder.child_pid is not None
embedder.close()
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sentence_transformers'})
assert not heavy, heavy
np.save(sys.stdout.buffer, vectors)
"""


@pytest.mark.model
def test_the_child_process_gives_the_in_process_model_s_vectors_and_leaves_torch_out_of_the_caller() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EMBED_IN_A_PROCESS_OF_ITS_OWN, *_TEXTS], capture_output=True, check=True, timeout=600
    )
    through_child = np.load(io.BytesIO(done.stdout))
    in_process = LocalModel.load().encode(_TEXTS)
    assert through_child.shape == in_process.shape == (len(_TEXTS), 384)
    cosines = np.sum(through_child * in_process, axis=1)
    assert cosines.min() >= 0.9999, cosines
