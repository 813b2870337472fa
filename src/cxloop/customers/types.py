"""Plain inputs of the customers services, independent of the API or form that produced them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IdentityInput:
    kind: str
    value: str
    region: str | None = None
    network: str | None = None
    is_verified: bool = False
    source: str = ""


@dataclass
class CustomerInput:
    name: str = ""
    country: str = ""
    locale: str = ""
    time_zone: str = ""
    lifecycle_stage: str = "lead"
    identities: list[IdentityInput] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    source: str = "staff"
