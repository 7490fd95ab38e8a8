"""`PreparedModel`: the catalogue and the server's plays, turned into arrays once.

Building it is the expensive part (normalising the item matrix, the genre matrix, fitting
the co-watch model); it is then reused for every user's refresh until the catalogue or the
server's histories change enough to warrant a rebuild (the nightly job, or new items).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from sidecar.recommender.cowatch import DEFAULT_MAX_VOCABULARY, CowatchModel, build_cowatch
from sidecar.recommender.session_cowatch import SessionCowatch, build_session_cowatch
from sidecar.recommender.types import ItemFacts, WatchEvent

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Bayesian shrinkage of the community rating: `RATING_PRIOR_WEIGHT` pseudo-ratings at the
# catalogue mean against `1 + log1p(viewers on this server)` observations of the item.
RATING_PRIOR_WEIGHT = 0.5
MAX_PEOPLE = 6  # directors/creators first, then the leading cast


@dataclass(frozen=True, slots=True)
class _PeopleIndex:
    """(item, person) pairs as two CSR indexes: an item's people, and a person's items."""

    people_start: IntArray  # N + 1 offsets into people_of
    people_of: IntArray
    items_start: IntArray  # P + 1 offsets into items_of
    items_of: IntArray

    @property
    def count(self) -> int:
        return self.items_start.size - 1

    @classmethod
    def build(cls, items: IntArray, people: IntArray, n_items: int) -> _PeopleIndex:
        by_item = np.lexsort((people, items))
        by_person = np.lexsort((items, people))
        count = int(people.max()) + 1
        return cls(
            np.searchsorted(items[by_item], np.arange(n_items + 1)).astype(np.int64),
            people[by_item],
            np.searchsorted(people[by_person], np.arange(count + 1)).astype(np.int64),
            items[by_person],
        )


@dataclass(frozen=True, slots=True)
class GenreSets:
    """The catalogue's distinct sets of genres: a user's genre terms depend on an item's set only."""

    matrix: FloatArray  # S x G, float64, 1 where the set has the genre
    of_item: IntArray  # N: each item's set

    @classmethod
    def build(cls, genre_matrix: FloatMatrix) -> GenreSets:
        n, genres = genre_matrix.shape
        if n == 0 or genres == 0:
            return cls(np.zeros((1, genres)), np.zeros(n, dtype=np.int64))
        # each row's genres as bytes, one key per row: a 1-d unique, much faster than unique rows of the matrix
        packed = np.ascontiguousarray(np.packbits(genre_matrix > 0, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
        _, first, of_item = np.unique(keys, return_index=True, return_inverse=True)
        rows = genre_matrix[first].astype(np.float64)
        return cls(rows, of_item.reshape(-1).astype(np.int64))


@dataclass(frozen=True, slots=True, eq=False)
class PreparedModel:
    """Everything per-user scoring needs, as read-only arrays indexed by catalogue position."""

    items: tuple[ItemFacts, ...]
    index: Mapping[str, int]
    vectors: FloatMatrix  # N x d, unit rows (zero rows for items without an embedding)
    has_vector: BoolArray
    genres: tuple[str, ...]
    genre_matrix: FloatMatrix  # N x G, 1 where the item has the genre
    genre_counts: npt.NDArray[np.float32]  # N, number of genres per item
    genre_pairs: tuple[IntArray, IntArray]  # (item, genre) positions of the matrix's ones
    genre_sets: GenreSets  # the distinct genre rows: per-user genre terms are computed once per set
    years: FloatArray  # NaN when unknown
    year_values: FloatArray  # the distinct years (one NaN last when some are unknown)
    year_of: IntArray  # each item's place in year_values
    quality: FloatArray  # shrunk community rating, 0-10
    duplicate_group: IntArray  # items sharing a provider id share a group
    media_types: tuple[str, ...]
    media_type_of: IntArray  # index into media_types
    viewers: IntArray  # distinct users on this server who watched the item
    cowatch: CowatchModel | None
    sessions: SessionCowatch | None = None  # titles watched close together (over the co-watch vocabulary)
    people: _PeopleIndex | None = None  # who is in what (directors, leading cast), both ways

    @property
    def size(self) -> int:
        return len(self.items)

    def indices(self, item_ids: Sequence[str]) -> IntArray:
        """Catalogue positions of the known ids, in order; unknown ids are dropped."""
        found = map(self.index.get, item_ids)  # one lookup per id
        return np.array([p for p in found if p is not None], dtype=np.int64)

    def same_title(self, positions: IntArray) -> BoolArray:
        """Mask of every item that is a copy of one of `positions` (them included)."""
        if not positions.size:
            return np.zeros(self.size, dtype=bool)
        groups = np.zeros(self.size, dtype=bool)  # group ids are item positions
        groups[self.duplicate_group[positions]] = True
        return groups[self.duplicate_group]


def _duplicate_groups(items: Sequence[ItemFacts]) -> IntArray:
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for pos, item in enumerate(items):
        for key, value in item.provider_ids.items():
            if not value:
                continue
            ident = (key.lower(), str(value).strip().lower())
            if ident in first_with:
                a, b = find(pos), find(first_with[ident])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_with[ident] = pos
    return np.array([find(i) for i in range(len(items))], dtype=np.int64)


def positive_event(event: WatchEvent) -> bool:
    """Does this event say the user chose and liked the title enough to learn from it?"""
    return event.played or event.favourite or event.completion >= 0.5


def play_sequence(history: Sequence[WatchEvent], index: Mapping[str, int]) -> IntArray:
    """Catalogue positions of the positive events on known titles, in play order (undated last, then by id)."""
    events = sorted(
        (e for e in history if e.item_id in index and positive_event(e)),
        key=lambda e: (e.last_played is None, e.last_played or 0.0, e.item_id),
    )
    return np.array([index[e.item_id] for e in events], dtype=np.int64)


def prepare_model(
    items: Sequence[ItemFacts],
    embeddings: npt.ArrayLike,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    max_cowatch_items: int = DEFAULT_MAX_VOCABULARY,
) -> PreparedModel:
    """Build the in-memory model from the catalogue, its embeddings (rows aligned with
    `items`) and every user's history on this server (used for co-watch and viewer counts).
    """
    return with_histories(prepare_catalogue(items, embeddings), histories, max_cowatch_items=max_cowatch_items)


def prepare_catalogue(items: Sequence[ItemFacts], embeddings: npt.ArrayLike) -> PreparedModel:
    """The catalogue's part of the model, as if nobody had watched anything (`with_histories` adds the plays)."""
    n = len(items)
    matrix = np.array(embeddings, dtype=np.float32, copy=True).reshape(n, -1)
    norms = np.linalg.norm(matrix, axis=1)
    has_vector = norms > 1e-9
    matrix[has_vector] /= norms[has_vector, None]
    matrix[~has_vector] = 0.0

    index = {item.item_id: pos for pos, item in enumerate(items)}
    if len(index) != n:
        raise ValueError("item ids must be unique")
    genres = tuple(sorted({g for item in items for g in item.genres}))
    genre_pos = {g: k for k, g in enumerate(genres)}
    genre_matrix = np.zeros((n, len(genres)), dtype=np.float32)
    for pos, item in enumerate(items):
        for g in item.genres:
            genre_matrix[pos, genre_pos[g]] = 1.0
    years = np.array([np.nan if it.year is None else float(it.year) for it in items])
    year_values, year_of = np.unique(years, return_inverse=True)
    media_types = tuple(sorted({it.media_type for it in items}))
    type_pos = {t: k for k, t in enumerate(media_types)}
    media_type_of = np.array([type_pos[it.media_type] for it in items], dtype=np.int64)

    person_pos: dict[str, int] = {}
    pair_items: list[int] = []
    pair_people: list[int] = []
    for pos, item in enumerate(items):
        for person in dict.fromkeys(item.people[:MAX_PEOPLE]):
            pair_items.append(pos)
            pair_people.append(person_pos.setdefault(person, len(person_pos)))
    viewers = np.zeros(n, dtype=np.int64)
    return PreparedModel(
        items=tuple(items),
        index=index,
        vectors=matrix,
        has_vector=has_vector,
        genres=genres,
        genre_matrix=genre_matrix,
        genre_counts=genre_matrix.sum(axis=1),
        genre_pairs=(
            np.nonzero(genre_matrix)[0].astype(np.int64),
            np.nonzero(genre_matrix)[1].astype(np.int64),
        ),
        genre_sets=GenreSets.build(genre_matrix),
        years=years,
        year_values=year_values,
        year_of=year_of.reshape(-1).astype(np.int64),
        quality=_shrunk_quality(items, viewers),
        duplicate_group=_duplicate_groups(items),
        media_types=media_types,
        media_type_of=media_type_of,
        viewers=viewers,
        cowatch=None,
        people=_PeopleIndex.build(np.array(pair_items, dtype=np.int64), np.array(pair_people, dtype=np.int64), n)
        if pair_items
        else None,
    )


def with_histories(
    model: PreparedModel,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    max_cowatch_items: int = DEFAULT_MAX_VOCABULARY,
) -> PreparedModel:
    """`model`'s catalogue with the server's plays: viewer counts, shrunk ratings, co-watch and session links. When
    only the histories changed (the nightly refresh) this is all that is rebuilt; the catalogue arrays are shared."""
    n = model.size
    user_items: list[IntArray] = []
    sequences: list[IntArray] = []
    for user in sorted(histories):
        sequence = play_sequence(histories[user], model.index)
        user_items.append(np.unique(sequence))
        sequences.append(sequence)
    viewers = np.zeros(n, dtype=np.int64)
    for u in user_items:
        viewers[u] += 1
    cowatch = build_cowatch(user_items, n, max_vocabulary=max_cowatch_items)
    sessions = None if cowatch is None else build_session_cowatch(sequences, cowatch.vocabulary, n)
    return replace(
        model, viewers=viewers, quality=_shrunk_quality(model.items, viewers), cowatch=cowatch, sessions=sessions
    )


def _shrunk_quality(items: Sequence[ItemFacts], viewers: IntArray) -> FloatArray:
    """The community rating shrunk towards the catalogue mean, the less so the more viewers here watched the item."""
    rating = np.array([np.nan if it.community_rating is None else it.community_rating for it in items])
    known = ~np.isnan(rating)
    mean = float(rating[known].mean()) if known.any() else 6.5
    evidence = 1.0 + np.log1p(viewers)
    return np.asarray(
        np.where(
            known,
            (np.nan_to_num(rating) * evidence + mean * RATING_PRIOR_WEIGHT) / (evidence + RATING_PRIOR_WEIGHT),
            mean,
        ),
        dtype=np.float64,
    )
