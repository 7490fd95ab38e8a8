"""`OpenAIChatWriter`: taste profiles and "why we picked this" texts from any OpenAI-compatible chat model,
grounded in the facts it is given; it falls back to the template text when the endpoint fails."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import openai
from openai import AsyncOpenAI

from providers.ai.errors import AIProviderError
from providers.ai.openai_compatible import translate_error
from providers.ai.writing import PickFacts, TasteFacts, TemplateWriter

log = logging.getLogger(__name__)


_SYSTEM = (
    "You write short, warm texts for a home media server. Use ONLY the facts in the JSON you are "
    "given; never add plot details, awards, people or numbers that are not in it. No markdown."
)


class OpenAIChatWriter:
    """`TextGenerator` over an OpenAI-compatible chat model, grounded in the given facts."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.3,
        max_tokens: int = 220,
        timeout_s: float = 60.0,
        fallback: TemplateWriter | None = None,
    ) -> None:
        self._model = model
        self._endpoint = base_url or "api.openai.com"
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=2, timeout=timeout_s)
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._fallback = fallback if fallback is not None else TemplateWriter()

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    async def taste_profile(self, facts: TasteFacts) -> str:
        prompt = "Describe this viewer's taste in two or three sentences, second person ('You ...').\n" + json.dumps(
            asdict(facts), default=list
        )
        return await self._complete(prompt, self._fallback.taste_profile_sync(facts))

    async def why_picked(self, facts: PickFacts) -> str:
        prompt = (
            "In two sentences, tell the viewer why this title was picked for them, citing the watched "
            "titles in 'evidence'.\n" + json.dumps(asdict(facts), default=list)
        )
        return await self._complete(prompt, self._fallback.why_picked_sync(facts))

    async def complete(self, prompt: str, fallback: str) -> str:
        """Any other grounded text (channel proposals): the model's answer, or ``fallback`` when it fails."""
        return await self._complete(prompt, fallback)

    async def _complete(self, prompt: str, fallback: str) -> str:
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}],
                temperature=self._temperature,
                max_tokens=self._max_tokens,
            )
        except openai.OpenAIError as exc:
            error: AIProviderError | Exception = translate_error(exc, self._endpoint)
            log.warning("chat model failed, using the template text: %s", error)
            return fallback
        content = response.choices[0].message.content if response.choices else None
        return content.strip() if content and content.strip() else fallback

    async def aclose(self) -> None:
        await self._client.close()
