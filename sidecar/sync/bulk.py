"""Many rows in one statement with one parameter: the rows travel as a JSON array and PostgreSQL turns it back
into rows of the table's own type (``jsonb_populate_recordset``).

A multi-row ``INSERT … VALUES`` built by SQLAlchemy has one bind parameter per cell: compiling and binding
500 rows by 28 columns cost more than the database's work. Here the statement text is fixed per table and
column list (compiled once, prepared by the driver), and the JSON is parsed by PostgreSQL in C.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


def _encode(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent as a row")


def rows_json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one JSON array (datetimes as ISO 8601, which every timestamp column reads back exactly)."""
    return json.dumps(rows, default=_encode, ensure_ascii=False, separators=(",", ":"))


def select_rows(table: str, columns: Sequence[str], param: str = "rows") -> str:
    """``SELECT <columns> FROM`` the rows in parameter ``param``, typed as ``table``'s columns."""
    names = ", ".join(columns)
    return f"SELECT {names} FROM jsonb_populate_recordset(NULL::{table}, CAST(:{param} AS jsonb))"
