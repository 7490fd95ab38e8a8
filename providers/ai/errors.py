"""Errors raised by the AI providers; jobs decide which ones to retry, skip or stop on."""

from __future__ import annotations


class AIProviderError(Exception):
    """Base class for every embedding or text-generation failure."""


class AIAuthError(AIProviderError):
    """The endpoint rejected the API key (HTTP 401/403). Retrying will not help."""


class AIQuotaExceeded(AIProviderError):
    """The account has no credit left (OpenAI `insufficient_quota`, HTTP 402). Stop the job."""


class AIRateLimited(AIProviderError):
    """Still rate limited (HTTP 429) after every back-off attempt; the job may retry later."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AIBadInput(AIProviderError):
    """The endpoint refused this input (HTTP 400/413/422, e.g. too long).

    A job should split the batch to find the offending item, record it and skip it.
    """


class AIUnavailable(AIProviderError):
    """The endpoint could not be reached or answered with a server error."""
