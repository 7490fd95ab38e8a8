"""Reading a JSON document that arrived from outside (a request body, a webhook's ``data`` field).

Python's ``json`` has three ways to fail on hostile input besides a syntax error: bytes that are not
UTF-8, nesting deep enough to raise ``RecursionError``, and an integer literal longer than the
interpreter's int-conversion limit (4300 digits) raising a bare ``ValueError``. ``read_json`` turns each
into ``JsonBodyError`` with a message a person can act on, so callers map one exception to a 4xx.

Numbers are only refused here when they cannot be read at all; whether a number fits the field it goes
into (a BIGINT column, a 1..500 setting) is the job of the parser or model that reads that field.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
MAX_INT_DIGITS = 4300  # the interpreter's default int-conversion limit, checked here so the message can say it


class JsonBodyError(ValueError):
    """The document cannot be read; the message says why."""


class _NumberTooLong(Exception):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _bounded_int(literal: str) -> int:
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _NumberTooLong(digits)
    return int(literal)


def read_json(raw: bytes | str, what: str = "body") -> Any:
    """The value ``raw`` holds (UTF-8, an optional BOM and surrounding white space allowed)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonBodyError(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw.removeprefix("\ufeff")
    try:
        value = json.loads(text.strip(), parse_int=_bounded_int)
    except _NumberTooLong as exc:
        raise JsonBodyError(
            f"{what} has a number with {exc.digits} digits; numbers of more than {MAX_INT_DIGITS} digits are refused"
        ) from None
    except RecursionError:
        raise JsonBodyError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as exc:
        raise JsonBodyError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if _depth(value) > MAX_DEPTH:
        raise JsonBodyError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
