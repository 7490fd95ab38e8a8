"""Token counts: the shipped cl100k_base ranks make tiktoken's own cl100k_base encoding, offline."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public

from providers.ai import tokens
from providers.ai.tokens import CL100K_SHA256, TokenizerDataError, cl100k_base, count_tokens, count_tokens_async

SAMPLES = [
    "hello world",
    "tiktoken is great!",
    "Green Room (2015). Genres: Horror Movies, Thrillers. Rated R. Directed by Jeremy Saulnier.",
    "Amélie (2001) 12345 — ünïcödé 東京物語  \n\n  trailing   ",
    "<|endoftext|> is text here",
    "",
]


def test_known_strings_count_as_in_cl100k_base() -> None:
    encoding = cl100k_base()
    # The published cl100k_base ids of these strings (OpenAI's token-counting cookbook shows the second).
    assert encoding.encode_ordinary("hello world") == [15339, 1917]
    assert encoding.encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert encoding.n_vocab == 100277
    counted = count_tokens(["hello world", "tiktoken is great!"], "text-embedding-3-small")
    assert counted.tokens == 8 and counted.exact and counted.tokenizer == "cl100k_base"
    assert counted.method == "tokens counted with the model's tokenizer, cl100k_base"
    assert count_tokens([], "text-embedding-3-small").tokens == 0


def test_the_shipped_file_is_the_one_tiktoken_expects_and_makes_its_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken's own cl100k_base definition, fed the shipped file, encodes exactly as ours does."""
    data = (files("providers.ai.data") / "cl100k_base.tiktoken").read_bytes()
    assert hashlib.sha256(data).hexdigest() == CL100K_SHA256
    ours = cl100k_base()

    def load(path: str, expected_hash: str | None = None) -> dict[bytes, int]:
        assert path.endswith("/cl100k_base.tiktoken") and expected_hash == CL100K_SHA256
        return ours._mergeable_ranks

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", load)
    definition = openai_public.cl100k_base()
    assert definition["pat_str"] == tokens.CL100K_PATTERN
    assert definition["special_tokens"] == tokens.CL100K_SPECIAL
    theirs = tiktoken.Encoding(**definition)
    for text in SAMPLES:
        assert ours.encode_ordinary(text) == theirs.encode_ordinary(text), text
    assert ours.encode("<|endoftext|>", allowed_special="all") == [100257]


def test_other_models_say_how_they_were_counted() -> None:
    texts = ["hello world", "Amélie (2001)"]
    for model in ("text-embedding-3-large", "openai:text-embedding-ada-002"):
        assert count_tokens(texts, model).exact, model
    other = count_tokens(texts, "nomic-embed-text:latest")
    assert other.tokens == count_tokens(texts, "text-embedding-3-small").tokens and not other.exact
    assert other.method == "tokens counted with cl100k_base, not this model's own tokenizer: an estimate"
    for local in (None, "local:all-MiniLM-L6-v2"):
        estimated = count_tokens(texts, local)
        assert estimated.tokens == 3 + 4 and not estimated.exact and estimated.tokenizer is None  # len/4, rounded up
        assert "about four characters" in estimated.method


async def test_async_count_is_the_same() -> None:
    model = "text-embedding-3-small"
    assert await count_tokens_async(SAMPLES, model) == count_tokens(SAMPLES, model)


def test_a_damaged_rank_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "cl100k_base.tiktoken").write_bytes(b"IQ== 0\n")
    monkeypatch.setattr(tokens, "files", lambda package: tmp_path)
    cl100k_base.cache_clear()
    try:
        with pytest.raises(TokenizerDataError, match="SHA-256"):
            cl100k_base()
    finally:
        cl100k_base.cache_clear()
