"""Rows in other modules that belong to a customer, so merge and unmerge can move them.

The customers module cannot import interactions, cases or feedback (module boundaries), yet a merge
must move their rows and an unmerge must move exactly those rows back. Each owning module registers
a pair of functions from its own services at start-up (AppConfig.ready):

    move(from_customer_id, to_customer_id) -> ids of the rows it moved
    restore(row_ids, to_customer_id)       -> puts those rows back
    export(customer_id)                    -> the rows as plain data, for a personal-data export (optional)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CustomerReference:
    label: str
    move: Callable[[int, int], list[int]]
    restore: Callable[[list[int], int], None]
    export: Callable[[int], list[dict[str, Any]]] | None = None


_references: dict[str, CustomerReference] = {}


def register_customer_reference(
    label: str,
    move: Callable[[int, int], list[int]],
    restore: Callable[[list[int], int], None],
    export: Callable[[int], list[dict[str, Any]]] | None = None,
) -> None:
    _references[label] = CustomerReference(label, move, restore, export)


def customer_references() -> list[CustomerReference]:
    return list(_references.values())
