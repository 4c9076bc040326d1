"""Column factories shared by the table models (a Column object can belong to one table
only, so each model calls these rather than sharing instances), and the CHECKs that hold a
column to one of a domain's value lists or to its input limit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, func
from sqlmodel import Field


def created_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def updated_at() -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
        ),
    )


def timestamp(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


Timestamp = datetime


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def one_of(column: str, values: Iterable[str]) -> str:
    """CHECK text: the column holds one of `values` (a domain's StrEnum), or NULL."""
    return f"{column} IN ({_sql_list(values)})"


def each_one_of(column: str, values: Iterable[str]) -> str:
    """CHECK text: every element of the array column is one of `values`."""
    return f"{column} <@ ARRAY[{_sql_list(values)}]"


def at_most(column: str, characters: int) -> str:
    """CHECK text: the text column holds at most `characters` characters (or NULL)."""
    return f"char_length({column}) <= {characters}"


def length_checks(table: str, lengths: Mapping[tuple[str, str], int]) -> list[CheckConstraint]:
    """The CHECKs of `table`'s columns from a domain's LENGTHS (its limits.py), named
    ck_<table>_<column>_length."""
    return [
        CheckConstraint(at_most(column, most), name=f"{column}_length")
        for (owner, column), most in lengths.items()
        if owner == table
    ]
