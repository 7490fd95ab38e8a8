"""Co-watch signal from the server's own plays: EASE item-item weights (Steck, WWW 2019).

EASE learns, from who watched what on this server, how much having watched item j
predicts item i (B = I - P / diag(P) with P = (X^T X + lambda I)^-1, zero diagonal).
It is the strongest simple collaborative model on small data; its cost is one dense
inversion over the *vocabulary*, so large servers keep only the most-watched items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_MAX_VOCABULARY = 3000
MIN_VIEWERS = 1


def ease_fit(interactions: npt.NDArray[np.floating], l2: float) -> tuple[FloatMatrix, FloatArray]:
    """EASE weight matrix B (items x items, zero diagonal) for a users x items matrix, and the
    diagonal d of the precision P (with it, P = (I - B) diag(d) can be rebuilt block by block)."""
    x = np.asarray(interactions, dtype=np.float64)
    users, items = x.shape
    if users < items:
        # Woodbury: (X^T X + l2 I)^-1 = (I - X^T (l2 I + X X^T)^-1 X) / l2, a users x users inversion
        # instead of items x items (a household of 8 viewers over a thousand titles, or a community
        # of hundreds over thousands); the same matrix up to rounding.
        inner = x @ x.T
        inner[np.diag_indices_from(inner)] += l2
        precision = x.T @ np.linalg.solve(inner, x)
        np.negative(precision, out=precision)  # in place: items x items is the largest array here
        precision[np.diag_indices_from(precision)] += 1.0
        precision /= l2
    else:
        gram = x.T @ x
        gram[np.diag_indices_from(gram)] += l2
        precision = np.linalg.inv(gram)
    diagonal = np.diag(precision).copy()
    weights = np.divide(precision, -diagonal, out=precision)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32), diagonal


def ease_item_weights(interactions: npt.NDArray[np.floating], l2: float) -> FloatMatrix:
    """EASE weight matrix B (items x items, zero diagonal) for a users x items matrix."""
    return ease_fit(interactions, l2)[0]


@dataclass(frozen=True, slots=True)
class CowatchModel:
    """EASE weights over a vocabulary of catalogue indices (rows/cols of `weights`)."""

    vocabulary: IntArray  # catalogue index of each vocabulary slot
    slot_of: IntArray  # catalogue index -> vocabulary slot, -1 when outside
    weights: FloatMatrix  # len(vocabulary) x len(vocabulary)
    users: int
    precision_diagonal: FloatArray  # diagonal of (X^T X + lambda I)^-1, per vocabulary slot

    def scores(self, item_indices: IntArray, item_weights: FloatMatrix, n_items: int) -> FloatMatrix:
        """Co-watch score of every catalogue item for one user's weighted history.

        Items outside the vocabulary score 0 (no evidence either way).
        """
        out = np.zeros(n_items, dtype=np.float32)
        slots = self.slot_of[item_indices]
        keep = slots >= 0
        if not keep.any():
            return out
        out[self.vocabulary] = np.einsum("i,ij->j", item_weights[keep], self.weights[slots[keep]])
        return out

    def held_out_scores(self, row: IntArray, item_indices: IntArray, item_weights: FloatArray) -> FloatArray:
        """The score of each of one user's titles from their other titles, leave-one-out.

        `row` holds the catalogue indices of every title the user had watched when the model was
        fitted (their row of the interaction matrix); `item_indices` and `item_weights` are the
        weighted titles their scores come from (as for `scores`, all of them in `row`). Each
        title i is scored as if the user had never watched it: i leaves the user's row, which
        changes the Gram matrix by a symmetric rank-2 term, so the refitted precision's column i
        follows from the Woodbury identity on the block of P the user's titles span; i is then
        scored from the others, their weights renormalised to the original total. Exact when
        `row` is the row the model was fitted with; O(len(row)^2), no refit. Titles outside the
        vocabulary score 0, as in `scores`.
        """
        out = np.zeros(item_indices.size)
        slots = self.slot_of[item_indices]
        keep = np.flatnonzero(slots >= 0)
        if keep.size < 2:
            return out
        h = slots[keep]
        v = np.unique(self.slot_of[row])
        v = v[v >= 0]
        weights = item_weights[keep].astype(np.float64)
        rest = float(item_weights.sum()) - weights
        p_hh = self._precision_block(h, h)
        u = self._precision_block(h, v).sum(axis=1)  # (P x)_a, x the user's row
        q = float(self._precision_block(v, v).sum())  # x^T P x
        # Removing interaction i: G' = G - U C U^T with U = [e_i, x - e_i], C = [[1, 1], [1, 0]];
        # P' = P + P U (C^-1 - U^T P U)^-1 U^T P, with C^-1 = [[0, 1], [1, -1]].
        alpha = np.diag(p_hh).copy()  # P_ii
        beta = u - alpha  # (P (x - e_i))_i
        gamma = q - 2.0 * u + alpha  # (x - e_i)^T P (x - e_i)
        det = alpha * (1.0 + gamma) - (1.0 - beta) ** 2
        ok = np.abs(det) > 1e-12
        det = np.where(ok, det, 1.0)
        t1 = (-(1.0 + gamma) * alpha - (1.0 - beta) * beta) / det
        t2 = -alpha / det
        column = p_hh * (1.0 + t1)[None, :] + (u[:, None] - p_hh) * t2[None, :]  # P'[a, i]
        pivot = alpha * (1.0 + t1) + beta * t2  # P'[i, i]
        ok &= pivot > 0
        refit = -column / np.where(ok, pivot, 1.0)[None, :]
        plain = self.weights[np.ix_(h, h)].astype(np.float64)
        b = np.where(ok[None, :], refit, plain)
        np.fill_diagonal(b, 0.0)
        out[keep] = np.einsum("a,ai->i", weights, b) / np.maximum(rest, 1e-12)
        return out

    def _precision_block(self, rows: IntArray, cols: IntArray) -> FloatArray:
        """P[rows][:, cols] rebuilt from B and diag(P): P = (I - B) diag(d)."""
        identity = (rows[:, None] == cols[None, :]).astype(np.float64)
        block = (identity - self.weights[np.ix_(rows, cols)]) * self.precision_diagonal[cols][None, :]
        return np.asarray(block, dtype=np.float64)


def build_cowatch(
    user_items: list[IntArray],
    n_items: int,
    *,
    l2_base: float = 25.0,
    l2_per_user: float = 0.6,
    max_vocabulary: int = DEFAULT_MAX_VOCABULARY,
) -> CowatchModel | None:
    """Fit EASE on the server's histories (one array of catalogue indices per user).

    The regulariser grows with the number of users (more users, larger co-occurrence counts).
    Returns None when fewer than two users watched anything in common.
    """
    users = [np.unique(u) for u in user_items if len(u)]
    if len(users) < 2:
        return None
    viewers = np.zeros(n_items, dtype=np.int64)
    for u in users:
        viewers[u] += 1
    eligible = np.flatnonzero(viewers >= MIN_VIEWERS)
    if eligible.size < 2:
        return None
    # most-watched first; ties broken by index for determinism
    order = np.lexsort((eligible, -viewers[eligible]))
    vocabulary = np.sort(eligible[order[:max_vocabulary]])
    slot_of = np.full(n_items, -1, dtype=np.int64)
    slot_of[vocabulary] = np.arange(vocabulary.size)
    matrix = np.zeros((len(users), vocabulary.size), dtype=np.float32)
    for row, u in enumerate(users):
        slots = slot_of[u]
        matrix[row, slots[slots >= 0]] = 1.0
    l2 = l2_base + l2_per_user * len(users)
    weights, diagonal = ease_fit(matrix, l2)
    return CowatchModel(vocabulary, slot_of, weights, len(users), diagonal)
