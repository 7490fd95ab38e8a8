"""Validation problems in the words of the person who filled in the form, one message per field.

``schemas.parse`` raises ``FieldErrors``: an ``InvalidInput`` whose message stays the one-line summary the
JSON API answers with, and whose ``fields`` map each field (its dotted path, e.g. ``weights.similarity``)
to a short sentence a page shows beside that field ("must be 1 or less").
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sidecar.errors import InvalidInput


class FieldErrors(InvalidInput):
    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def human(error: ErrorDetails) -> str:
    """One problem as a person would say it (pydantic's own words as the fallback)."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in ("less_than_equal", "less_than"):
        limit = _number(ctx.get("le", ctx.get("lt")))
        return f"must be {limit} or less" if kind == "less_than_equal" else f"must be less than {limit}"
    if kind in ("greater_than_equal", "greater_than"):
        limit = _number(ctx.get("ge", ctx.get("gt")))
        return f"must be {limit} or more" if kind == "greater_than_equal" else f"must be more than {limit}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "enter a number, such as 0.3"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "enter a whole number"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "cannot be empty" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters"
    if kind == "missing":
        return "required"
    if kind == "literal_error":
        return f"choose {ctx.get('expected')}"
    if kind == "extra_forbidden":
        return "not a setting here"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def field_messages(exc: ValidationError) -> dict[str, str]:
    """Dotted field path -> message; a problem of the whole model is under ``""``."""
    messages: dict[str, str] = {}
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        messages.setdefault(where, human(error))
    return messages


def page_errors(exc: InvalidInput, labels: dict[str, str]) -> tuple[str, dict[str, str]]:
    """``(summary, per field)`` for a page whose fields are ``labels`` (field path -> the label shown):
    the fields the page can mark get their message beside them, the summary names them; anything else
    stays in the summary."""
    every = exc.fields if isinstance(exc, FieldErrors) else {}
    marked = {name: message for name, message in every.items() if name in labels}
    if not marked:
        return str(exc), {}
    rest = [f"{name}: {message}" for name, message in every.items() if name not in labels]
    summary = "check " + ", ".join(labels[name] for name in marked) + "."
    return " ".join([summary, *rest]), marked
