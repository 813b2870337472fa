"""The governance verdict on one message: suppression, consent, quiet hours (the cap is sending's, as it locks).

The rules read two facts: whether the address is on the suppression list, and the latest consent record for
(channel or "*", purpose). `read_facts` fetches both in one statement, for one message or a batch;
`judge` applies the rules to the facts in Python, the same code at send time and again at dispatch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model

from cxloop.core import clock
from cxloop.core.errors import ValidationError
from cxloop.customers.models import Customer
from cxloop.messaging import governance
from cxloop.messaging.models import ANY_CHANNEL, ConsentRecord, MessageStatus, Purpose, Suppression
from cxloop.messaging.services.addresses import suppression_key


@dataclass(frozen=True)
class Verdict:
    status: str
    reason_code: str = ""
    reason: str = ""
    not_before: datetime | None = None


@dataclass(frozen=True)
class Facts:
    """What the rules read from the database. `granted` is None when no consent record applies."""

    suppression_reason: str | None = None
    granted: bool | None = None


def _key(channel: str, address: str) -> str | None:
    try:
        return suppression_key(channel, address)
    except ValidationError:  # an address that does not normalise cannot be on the list either
        return None


@dataclass(frozen=True)
class Subject:
    """What a verdict is about: the facts are read for these."""

    customer_id: int
    channel: str
    address: str
    purpose: str


@functools.cache
def _columns(alias: str) -> tuple[list[str], list[str]]:
    """Quoted names: suppression table, reason, channel, address, id; consent table, granted, customer,
    purpose, channel, at, id (from the models' metadata only)."""
    quote = connections[alias].ops.quote_name

    def names(model: type[Model], *fields: str) -> list[str]:
        return [quote(model._meta.db_table)] + [quote(str(model._meta.get_field(f).column)) for f in fields]  # type: ignore[union-attr]

    return (
        names(Suppression, "reason", "channel", "address", "id"),
        names(ConsentRecord, "granted", "customer", "purpose", "channel", "at", "id"),
    )


@functools.cache
def _single_sql(alias: str) -> str:
    """Both facts of one subject as two scalar subqueries: one statement, and no ORM query to build, which
    cost 30 times the statement itself here (subquery expressions are compiled anew on every call)."""
    (suppressions, reason, s_channel, address, s_id), (consents, granted, customer, purpose, c_channel, at, c_id) = (
        _columns(alias)
    )
    return (  # identifiers from the models' metadata only; every value is a parameter
        f"SELECT (SELECT {reason} FROM {suppressions} WHERE {s_channel} = %s AND {address} = %s"  # noqa: S608
        f" ORDER BY {s_id} LIMIT 1), (SELECT {granted} FROM {consents} WHERE {customer} = %s AND {purpose} = %s"
        f" AND {c_channel} IN (%s, %s) ORDER BY {at} DESC, {c_id} DESC LIMIT 1)"
    )


def _read_one(subject: Subject) -> Facts:
    key = _key(subject.channel, subject.address)
    connection = connections[router.db_for_read(ConsentRecord)]
    with connection.cursor() as cursor:
        cursor.execute(
            _single_sql(connection.alias),
            [subject.channel, key, subject.customer_id, subject.purpose, subject.channel, ANY_CHANNEL],
        )
        reason, granted = cursor.fetchone()
    return Facts(
        suppression_reason=reason if key is not None else None, granted=None if granted is None else bool(granted)
    )


def _many_sql(alias: str, suppressed: int, customers: int, purposes: int) -> str:
    """The facts of many subjects as one statement: the suppressions of their addresses and the consent records
    of their customers and purposes, one UNION ALL, in the order the rules read them (oldest suppression
    first, consent records by time)."""
    postgres = connections[alias].vendor == "postgresql"

    def among(column: str, count: int) -> str:
        return f"{column} = ANY(%s)" if postgres else f"{column} IN ({', '.join(['%s'] * count)})"

    (suppressions, reason, s_channel, address, s_id), (consents, granted, customer, purpose, c_channel, at, c_id) = (
        _columns(alias)
    )
    parts = []
    if suppressed:  # identifiers from the models' metadata only; every value is a parameter
        parts.append(
            f"SELECT 0, {s_channel}, {address}, {reason}, NULL, NULL, NULL, {s_id} FROM {suppressions}"  # noqa: S608
            f" WHERE {among(address, suppressed)}"
        )
    parts.append(
        f"SELECT 1, {c_channel}, {purpose}, NULL, {customer}, {granted}, {at}, {c_id} FROM {consents}"  # noqa: S608
        f" WHERE {among(customer, customers)} AND {among(purpose, purposes)}"
    )
    return " UNION ALL ".join(parts) + " ORDER BY 1, 7, 8"


def _read_many(subjects: Sequence[Subject]) -> list[Facts]:
    keys = {(s.channel, s.address): _key(s.channel, s.address) for s in subjects}
    addresses = sorted({key for key in keys.values() if key is not None})
    customers = sorted({s.customer_id for s in subjects})
    purposes = sorted({s.purpose for s in subjects})
    connection = connections[router.db_for_read(ConsentRecord)]
    postgres = connection.vendor == "postgresql"
    lists: list[list[Any]] = [addresses, customers, purposes] if addresses else [customers, purposes]
    params = [value for values in lists for value in ([values] if postgres else values)]
    with connection.cursor() as cursor:
        cursor.execute(_many_sql(connection.alias, len(addresses), len(customers), len(purposes)), params)
        rows = cursor.fetchall()
    first: dict[tuple[str, str], str] = {}  # (channel, key): reason of its oldest suppression
    latest: dict[tuple[int, str, str], bool] = {}  # (customer, channel or "*", purpose): the latest grant
    for kind, channel, value, reason, customer_id, granted, _, _ in rows:
        if kind == 0:
            first.setdefault((channel, value), reason)
        else:
            latest.pop((customer_id, channel, value), None)  # re-inserted last, so the dict keeps the order
            latest[(customer_id, channel, value)] = bool(granted)
    order = {key: index for index, key in enumerate(latest)}  # the later record wins between channel and "*"
    facts = []
    for s in subjects:
        found = [
            k for k in ((s.customer_id, s.channel, s.purpose), (s.customer_id, ANY_CHANNEL, s.purpose)) if k in latest
        ]
        granted = latest[max(found, key=order.__getitem__)] if found else None
        key = keys[(s.channel, s.address)]
        reason = first.get((s.channel, key)) if key is not None else None
        facts.append(Facts(suppression_reason=reason, granted=granted))
    return facts


def read_facts(subjects: Sequence[Subject]) -> list[Facts]:
    """The facts of each subject: one statement for one subject, one for any number."""
    if len(subjects) == 1:
        return [_read_one(subjects[0])]
    if not subjects:
        return []
    return _read_many(subjects)


def judge(
    customer: Customer, channel: str, address: str, purpose: str, *, quiet: bool, facts: Facts | None = None
) -> Verdict:
    """The governance rules in order; also run again at dispatch, as consent may change while a message waits."""
    if facts is None:
        (facts,) = read_facts([Subject(customer.pk, channel, address, purpose)])
    if facts.suppression_reason is not None:
        reason = f"{channel} address is suppressed ({facts.suppression_reason})"
        return Verdict(MessageStatus.BLOCKED, "suppressed", reason)
    allowed = facts.granted if facts.granted is not None else purpose == Purpose.SERVICE
    if not allowed:
        if purpose == Purpose.MARKETING:
            reason = (
                "marketing consent withdrawn" if facts.granted is not None else "no marketing consent on this channel"
            )
            return Verdict(MessageStatus.BLOCKED, "no_consent", reason)
        return Verdict(MessageStatus.BLOCKED, "opted_out", f"the customer opted out of service messages on {channel}")
    if quiet:
        until = governance.quiet_until(
            governance.quiet_hours(), clock.now(), governance.customer_zone(customer.time_zone)
        )
        if until is not None:
            return Verdict(MessageStatus.SCHEDULED, "quiet_hours", "held back for quiet hours", not_before=until)
    return Verdict(MessageStatus.QUEUED)
