"""Key rotation: every sealed column of every table re-sealed with the newest key.

A sealed column is any column whose name starts with `sealed`, so a table added later is
rotated too without being listed here. Each value is replaced only if it is still the one
read (compare and set): a draft saved meanwhile by the app, already under the newest key,
is never overwritten with an older copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, CursorResult, Result, Table, select, update

from smart_app.core import models  # noqa: F401 (every table in Base.metadata)
from smart_app.core.db import Base, db
from smart_app.core.vault import SealBroken, Vault

BATCH = 200


@dataclass(frozen=True, slots=True)
class ResealCount:
    """What rotation did to one table: values re-sealed, and values no key opens."""

    table: str
    resealed: int
    unreadable: int


def sealed_columns(table: Table) -> list[Column[str]]:
    """The table's sealed columns."""
    return [column for column in table.columns if column.name.startswith("sealed")]


def reseal_all(vault: Vault) -> list[ResealCount]:
    """Re-seal every stored sealed value with the vault's newest key; counts per table."""
    counts = []
    for table in Base.metadata.sorted_tables:
        columns = sealed_columns(table)
        if columns:
            counts.append(_reseal_table(vault, table, columns))
    return counts


def _reseal_table(vault: Vault, table: Table, columns: list[Column[str]]) -> ResealCount:
    # Every Flip table has a one-column primary key: rows are paged by it.
    (key,) = table.primary_key.columns
    resealed = unreadable = 0
    after: object = None
    while True:
        # One short transaction per page: the app keeps running meanwhile.
        query = select(key, *columns).order_by(key).limit(BATCH)
        if after is not None:
            query = query.where(key > after)
        with db.session() as session:
            rows = session.execute(query).all()
            for row in rows:
                for column, value in zip(columns, row[1:], strict=True):
                    if value is None:
                        continue
                    try:
                        fresh = vault.reseal(value)
                    except SealBroken:
                        unreadable += 1  # left as it is: the old key may yet be added back
                        continue
                    changed = session.execute(
                        update(table)
                        .where(key == row[0], column == value)
                        .values({column.name: fresh})
                    )
                    resealed += _rowcount(changed)
        if len(rows) < BATCH:
            return ResealCount(table.name, resealed, unreadable)
        after = rows[-1][0]


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult: its rowcount is the rows matched.
    return int(cast(CursorResult[Any], result).rowcount)
