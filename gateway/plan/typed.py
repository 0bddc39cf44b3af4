"""A compiled expression together with its Edm type: what every expression builder returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from grammar import ast

BOOLEAN = "Edm.Boolean"
STRING = "Edm.String"
TYPE_NAME_PREFIX = "type:"  # a type name given as a function argument, e.g. cast(X, Edm.String)


@dataclass(frozen=True)
class Typed:
    """SQL with its Edm type ('null' for the null literal, an enum's name, or 'type:Edm.X' for a type name)."""

    sql: ColumnElement[Any]
    type: str
    nullable: bool = True
    literal: ast.Literal | None = None  # set when the expression is a plain literal
    digits: int | None = None  # a decimal property: how many digits before the point its column holds

    @property
    def type_name(self) -> str | None:
        return self.type[len(TYPE_NAME_PREFIX) :] if self.type.startswith(TYPE_NAME_PREFIX) else None
