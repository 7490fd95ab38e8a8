"""What a choice of models costs, before it is saved: from the texts Marquee would really send.

Embedding: the embedding texts of every live title of the enabled libraries that the chosen model has no
up-to-date vector for (``sidecar.embeddings.plan_embeddings`` — all of them for a model never used),
counted in tokens and priced from ``PRICES``. OpenAI's embedding models are counted exactly, with their own
tokenizer (cl100k_base, shipped with Marquee); another endpoint's model with cl100k_base too, said to be an
estimate; a local model is free and not tokenized (``providers.ai.tokens``).
Text: one taste profile per enabled user and media type, and one "why we picked this" per pick, with the
typical prompt and reply sizes of the writer (``providers.ai.openai_chat``), for one full recommendation run.

``PRICES`` is the list price table (US$ per million tokens); an admin can change or add models on the
Models page (``runtime_setting`` key ``prices``). A model not in the table is priced "unknown", a local
model "free".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text as sql

from providers.ai.tokens import count_tokens_async
from sidecar import runtime_settings as rs
from sidecar.embeddings import plan_embeddings
from sidecar.errors import InvalidInput
from sidecar.media_types import MEDIA_TYPES
from sidecar.runtime_settings import RuntimeKey
from sidecar.services import Services


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, le=10_000, description="US$ per million input tokens.")
    output: float = Field(default=0.0, ge=0, le=10_000, description="US$ per million output tokens (chat models).")


# List prices (US$ per million tokens) as published by OpenAI; edit on the Models page when they change.
PRICES: dict[str, Price] = {
    "text-embedding-3-small": Price(input=0.02),
    "text-embedding-3-large": Price(input=0.13),
    "text-embedding-ada-002": Price(input=0.10),
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
    "gpt-5-nano": Price(input=0.05, output=0.40),
    "gpt-5-mini": Price(input=0.25, output=2.00),
}


class PriceOverrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prices: dict[str, Price] = Field(default_factory=dict)


PRICE_OVERRIDES: RuntimeKey[PriceOverrides] = RuntimeKey("prices", PriceOverrides)

# What the writer sends and gets back, in tokens (its prompts: instructions + the facts as JSON).
TASTE_PROMPT_TOKENS = 450
TASTE_REPLY_TOKENS = 110
WHY_PROMPT_TOKENS = 330
WHY_REPLY_TOKENS = 70
TEXT_TOKENS_METHOD = (
    f"typical sizes, not counted: {TASTE_PROMPT_TOKENS} + {TASTE_REPLY_TOKENS} tokens a taste profile,"
    f" {WHY_PROMPT_TOKENS} + {WHY_REPLY_TOKENS} an explanation (prompt + reply)"
)


def price_table(overrides: PriceOverrides) -> dict[str, Price]:
    return {**PRICES, **overrides.prices}


def price_of(table: dict[str, Price], model: str) -> Price | None:
    """The model's price, ignoring an Ollama-style ``:tag``."""
    return table.get(model) or table.get(model.split(":", 1)[0])


def parse_price_lines(raw: str) -> dict[str, Price]:
    """``model = input [output]`` per line (US$ per million tokens) → prices; InvalidInput names the bad line."""
    prices: dict[str, Price] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition("=")
        parts = rest.split()
        try:
            if not sep or not name.strip() or not 1 <= len(parts) <= 2:
                raise ValueError
            values = [float(p) for p in parts]
            prices[name.strip()] = Price(input=values[0], output=values[1] if len(values) > 1 else 0.0)
        except ValueError:
            raise InvalidInput(
                f"Prices, line {number}: write 'model = price' in US$ per million tokens, e.g. "
                f"'text-embedding-3-small = 0.02' (chat models: 'gpt-4o-mini = 0.15 0.60'); got {line[:60]!r}."
            ) from None
    if len(prices) > 200:
        raise InvalidInput("Prices: at most 200 models.")
    return prices


def price_lines(prices: dict[str, Price]) -> str:
    def num(value: float) -> str:
        return f"{value:g}"

    return "\n".join(
        f"{name} = {num(p.input)}" + (f" {num(p.output)}" if p.output else "") for name, p in sorted(prices.items())
    )


@dataclass
class EmbeddingEstimate:
    model: str  # as stored, e.g. openai:text-embedding-3-small
    local: bool
    titles: int  # titles the model would embed now
    catalogue: int  # live titles of the enabled libraries
    tokens: int
    tokens_exact: bool  # counted with the model's own tokenizer
    tokens_method: str  # how, in words: "tokens counted with the model's tokenizer, cl100k_base"
    usd: float | None  # None: free (local) or no price known
    price_known: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TextEstimate:
    model: str | None  # None: template text
    users: int
    picks_per_run: int
    tokens_in: int
    tokens_out: int
    tokens_method: str  # the writer's typical sizes, not counted
    usd: float | None
    price_known: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cost(price: Price | None, tokens_in: int, tokens_out: int = 0) -> float | None:
    if price is None:
        return None
    return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


async def estimate_embedding(services: Services, name: str, model: str, table: dict[str, Price]) -> EmbeddingEstimate:
    """Re-embedding cost for the stored model ``name`` (``local:…``/``openai:…``) with raw model ``model``."""
    texts: list[str] = []
    catalogue = 0
    for media_type in MEDIA_TYPES:
        plan = await plan_embeddings(services, name, media_type, retry_failed=True)
        catalogue += plan.considered
        texts.extend(p.text for p in plan.pending)
    local = name.startswith("local:")
    counted = await count_tokens_async(texts, None if local else model)
    tokens = counted.tokens
    price = None if local else price_of(table, model)
    return EmbeddingEstimate(
        model=name,
        local=local,
        titles=len(texts),
        catalogue=catalogue,
        tokens=tokens,
        tokens_exact=counted.exact,
        tokens_method=counted.method,
        usd=None if local else _cost(price, tokens),
        price_known=local or price is not None,
    )


async def estimate_text(services: Services, model: str | None, table: dict[str, Price]) -> TextEstimate:
    """One full recommendation run's texts: a taste profile per enabled user and type, an explanation per pick."""
    async with services.engine.connect() as conn:
        row = (
            await conn.execute(
                sql(
                    "SELECT count(*) FILTER (WHERE movies_enabled) AS movies,"
                    " count(*) FILTER (WHERE series_enabled) AS series, count(*) AS users"
                    " FROM app_user WHERE gone_at IS NULL AND NOT is_disabled"
                )
            )
        ).one()
    async with services.sessions() as session:
        counts = {mt: (await rs.load(session, rs.recommendation_key(mt))).count for mt in MEDIA_TYPES}
    profiles = int(row.movies) + int(row.series)
    picks = int(row.movies) * counts[MEDIA_TYPES[0]] + int(row.series) * counts[MEDIA_TYPES[1]]
    tokens_in = profiles * TASTE_PROMPT_TOKENS + picks * WHY_PROMPT_TOKENS
    tokens_out = profiles * TASTE_REPLY_TOKENS + picks * WHY_REPLY_TOKENS
    price = price_of(table, model) if model else None
    return TextEstimate(
        model=model or None,
        users=int(row.users),
        picks_per_run=picks,
        tokens_in=tokens_in if model else 0,
        tokens_out=tokens_out if model else 0,
        tokens_method=TEXT_TOKENS_METHOD,
        usd=_cost(price, tokens_in, tokens_out) if model else None,
        price_known=not model or price is not None,
    )


def tokens_label(tokens: int) -> str:
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.1f} M"
    if tokens >= 1_000:
        return f"{tokens / 1_000:.0f} k"
    return str(tokens)


def usd_label(usd: float | None) -> str:
    if usd is None:
        return "unknown"
    if usd == 0:
        return "$0"
    if usd < 0.0001:
        return "under $0.0001"
    return f"${usd:.4f}" if usd < 0.01 else f"${usd:.2f}"


def embedding_sentence(e: EmbeddingEstimate) -> str:
    """E.g. "re-embedding 10,829 titles = 2,104,566 tokens ≈ $0.04 with text-embedding-3-small (tokens counted …)"."""
    model = e.model.split(":", 1)[1]
    if e.local:
        return f"embedding {e.titles:,} titles with {model} runs on this machine: free."
    if not e.titles:
        return f"every one of the {e.catalogue:,} titles already has a current {model} vector: nothing to pay."
    cost = usd_label(e.usd) if e.price_known else "an unknown price (add it to the price table)"
    tokens = f"= {e.tokens:,}" if e.tokens_exact else f"≈ {tokens_label(e.tokens)}"
    return f"re-embedding {e.titles:,} titles {tokens} tokens ≈ {cost} with {model} ({e.tokens_method})."


def text_sentence(t: TextEstimate) -> str:
    if t.model is None:
        return "no text model: template text, free."
    cost = usd_label(t.usd) if t.price_known else "an unknown price (add it to the price table)"
    return (
        f"one full recommendation run writes {t.picks_per_run:,} explanations and taste profiles for {t.users:,} users"
        f" ≈ {tokens_label(t.tokens_in + t.tokens_out)} tokens ≈ {cost} with {t.model}."
    )
