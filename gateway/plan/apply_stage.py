"""The values $apply planning passes between transformations: a stage and its output columns.

A stage is a SELECT under construction whose output columns are named by OData paths. Besides the
columns a response shows, a stage carries *hidden* ones, which no expression can name (their names
start with "$", which the grammar never reads as a property name):

- partition columns (`$g_N`, `$row_N`): the transformations nested in groupby((...),T) and
  join(Nav as A,T) apply to each group, or to the related rows of each input row, on their own;
  aggregate groups by them, top/skip and topcount... number rows per partition;
- `$variant`: after concat (and rollup, which is a concat), which of `Stage.variants` a row has,
  i.e. which properties are present (absent ones are left out of the JSON object, per the spec);
- `("$null", *prefix)`: null when outerjoin found nothing for the row: the alias is then null;
- ranking and union helpers (row numbers, running sums) that live for one transformation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from sqlalchemy.types import TypeDecorator

from gateway.errors import BadRequest, caret
from gateway.plan.paging import SortKey
from gateway.plan.scope import EntityScope

Path = tuple[str, ...]
VARIANT: Path = ("$variant",)
NULL_MARK = "$null"


class Units(TypeDecorator[Decimal]):
    """An integer count of 10**-scale read back as the exact Decimal it stands for."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-self.scale)


@dataclass(frozen=True)
class Output:
    """A column of a stage: `sql` is its value in expressions, `read` what the SELECT reads."""

    path: Path
    type: str
    nullable: bool
    sql: ColumnElement[Any]
    read: ColumnElement[Any]
    identity: bool = False  # part of what tells the rows apart (entity key, grouping properties)
    scale: int | None = None  # decimal places of a decimal value, when known
    units: bool = False  # `read` is an integer count of 10**-scale (an exact sum on SQLite)
    hidden: bool = False  # carried along, never shown nor named by expressions


@dataclass(frozen=True)
class Domain:
    """Every value of the partition columns (each group of groupby((G),T), each input row of
    join(...,T)): aggregate directly in T yields a row for every one of them, also where T's
    filters left no rows, as aggregate does for an empty set ($count 0, other aggregates null)."""

    from_: FromClause  # each value once
    columns: tuple[tuple[Path, ColumnElement[Any], bool], ...]  # partition path, column, nullable


@dataclass(frozen=True)
class Stage:
    scope: EntityScope  # what expressions of the next steps are compiled against
    outputs: tuple[Output, ...]
    where: tuple[ColumnElement[bool], ...] = ()
    order: tuple[SortKey, ...] = ()
    offset: int = 0
    limit: int | None = None
    group_by: tuple[ColumnElement[Any], ...] | None = None  # () aggregates the whole input
    entity_rows: bool = False  # the rows are still instances of the entity (nothing aggregated)
    partition: tuple[Path, ...] = ()  # hidden columns the current transformations work per value of
    variants: tuple[frozenset[Path], ...] | None = None  # the structures rows may have (see VARIANT)
    dynamic: frozenset[str] = frozenset()  # join aliases: navigation shown only when $expand names it
    domain: Domain | None = None

    @property
    def limited(self) -> bool:
        return self.limit is not None or self.offset > 0

    def output(self, path: Path) -> Output:
        return next(output for output in self.outputs if output.path == path)

    def visible(self) -> list[Output]:
        return [output for output in self.outputs if not output.hidden]

    def partition_columns(self) -> list[ColumnElement[Any]]:
        return [self.output(path).sql for path in self.partition]

    def without(self, *paths: Path) -> Stage:
        """The stage without the outputs at `paths` (their columns stay in the FROM for WHERE and ORDER BY)."""
        return replace(self, outputs=tuple(output for output in self.outputs if output.path not in paths))

    def with_visible(self, paths: list[Path]) -> Stage:
        """Outputs added to every row structure: each variant gains `paths`."""
        if self.variants is None:
            return self
        return replace(self, variants=tuple(variant | frozenset(paths) for variant in self.variants))


def names(stage: Stage) -> set[str]:
    """What an alias may not be: a name of the result's rows (or of the entity's navigation)."""
    return {output.path[0] for output in stage.visible()} | set(stage.scope.entity.navigation)


def check_alias(alias: str, taken: set[str], text: str, position: int) -> None:
    if alias in taken:
        raise BadRequest(
            at(text, position, f"the alias {alias} is already a property of the result; choose another name"),
            target=alias,
        )


def pos(node: Any) -> int:
    return getattr(node, "pos", 0)


def at(text: str, position: int, message: str) -> str:
    """`message` pointing at `position` of the option's text."""
    return f"{message} (at position {position})\n{caret(text, position)}" if text else message
