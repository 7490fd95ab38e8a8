"""Token counts for cost estimates: exact for OpenAI's embedding models, with the tokenizer they bill by.

OpenAI's ``text-embedding-3-small``, ``-3-large`` and ``ada-002`` tokenize with ``cl100k_base`` (tiktoken's
model table) and bill the tokens of the texts sent. tiktoken downloads its rank files at first use and Marquee
works offline, so the cl100k_base ranks ship in this package (``data/cl100k_base.tiktoken``, licence in
``data/cl100k_base.NOTICE.txt``). They are read from there, checked against the SHA-256 that tiktoken's own
definition of cl100k_base expects, and made into an encoding with that definition's pattern and special
tokens (``tiktoken_ext/openai_public.py``); tiktoken's loader is not used because it also copies every file it
reads into a cache folder.

Any other model of an endpoint (an Ollama model, another OpenAI-compatible endpoint's) is counted with
cl100k_base too, and the count says so (``exact`` is False): its own tokenizer may count differently. A local
model is free, so its texts are not tokenized at all (that would build the 46 MB encoding in the worker for a
log line): their tokens are estimated at about four characters each, and the count says that.

Counting 50,000 titles takes a few seconds of CPU; async callers use ``count_tokens_async`` (a worker thread).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files

import tiktoken

ENCODING = "cl100k_base"
# tiktoken_ext/openai_public.py: cl100k_base's expected_hash
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""  # noqa: E501
CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
# Models whose own tokenizer is cl100k_base (tiktoken.model.MODEL_TO_ENCODING).
CL100K_MODELS = frozenset({"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"})


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    exact: bool  # counted with the model's own tokenizer
    tokenizer: str | None = ENCODING  # None: estimated from the length (a local model)

    @property
    def method(self) -> str:
        """How the tokens were counted, for the page and the API."""
        if self.tokenizer is None:
            return "tokens estimated at about four characters each (a local model is free; no tokenizer is run)"
        if self.exact:
            return f"tokens counted with the model's tokenizer, {self.tokenizer}"
        return f"tokens counted with {self.tokenizer}, not this model's own tokenizer: an estimate"


class TokenizerDataError(RuntimeError):
    """The shipped rank file is missing or not the one tiktoken expects (a broken install)."""


def _raw_model(model: str) -> str:
    """``openai:text-embedding-3-small`` or ``text-embedding-3-small:latest`` → ``text-embedding-3-small``."""
    if model.startswith(("openai:", "local:")):
        model = model.split(":", 1)[1]
    return model.split(":", 1)[0]


def is_exact(model: str | None) -> bool:
    """Whether cl100k_base is ``model``'s own tokenizer (a raw or stored model name)."""
    return model is not None and _raw_model(model) in CL100K_MODELS


@functools.cache
def cl100k_base() -> tiktoken.Encoding:
    """The cl100k_base encoding from the shipped ranks (built once per process, about half a second)."""
    data = (files("providers.ai.data") / "cl100k_base.tiktoken").read_bytes()
    if hashlib.sha256(data).hexdigest() != CL100K_SHA256:
        raise TokenizerDataError(
            "providers/ai/data/cl100k_base.tiktoken is not the file tiktoken expects (SHA-256 differs); reinstall"
            " Marquee"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(ENCODING, pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=CL100K_SPECIAL)


def count_tokens(texts: Sequence[str], model: str | None) -> TokenCount:
    """The tokens of ``texts`` as sent one by one to ``model`` (raw or stored name of an endpoint's model).

    ``model`` None: a local model, estimated from the length. Text that looks like a special token
    (``<|endoftext|>``) counts as ordinary text.
    """
    if model is None or model.startswith("local:"):
        return TokenCount(tokens=sum(max(1, (len(t) + 3) // 4) for t in texts), exact=False, tokenizer=None)
    encode = cl100k_base().encode_ordinary
    return TokenCount(tokens=sum(len(encode(t)) for t in texts), exact=is_exact(model))


async def count_tokens_async(texts: Sequence[str], model: str | None) -> TokenCount:
    """``count_tokens`` in a worker thread, so the event loop goes on serving while a catalogue is counted."""
    return await asyncio.to_thread(count_tokens, texts, model)
