"""A year of one customer's contacts with Fernhill: conversations on every channel the customer uses.

`plan_conversations` only decides *what* happened (channel, direction, time, text, thread); the builder
records each item through interactions.services.record_interaction. A conversation is an inbound
message and the agent's answer (sometimes a thank-you and a closing line), a phone call, an internal
note, a survey answer or an app/shop event. Every choice comes from the caller's seeded Random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from cxloop.demo import texts
from cxloop.demo.people import Person

YEAR = timedelta(days=365)
_CURRENCY = {"GB": "£", "US": "$", "PL": "zł "}
_REPLY_DELAY_MINUTES = {
    "email": (45, 1_800),
    "chat": (1, 8),
    "whatsapp": (3, 240),
    "sms": (5, 300),
    "social": (10, 600),
}
_THANKS = (
    "Thanks, that worked!",
    "Perfect, thank you.",
    "Great, cheers for the quick help.",
    "Thank you, all sorted now.",
    "OK, I'll wait then. Thanks.",
)
_CLOSING = "Glad we could help. If anything else comes up, just reply here."


def _letter(given_name: str, text: str, agent: str) -> str:
    return f"Hello {given_name},\n\n{text}\n\nKind regards,\n{agent.title()}\n{texts.BUSINESS}"


@dataclass(frozen=True)
class PlannedInteraction:
    channel: str
    direction: str
    occurred_at: datetime
    body: str
    summary: str = ""
    subject: str = ""
    thread_ref: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contact:
    """Where the customer can be reached: the identity values each channel uses."""

    email: str = ""
    phone: str = ""
    whatsapp: str = ""
    social: tuple[str, str] | None = None  # (network, handle)
    anonymous: str = ""

    @classmethod
    def of(cls, person: Person) -> Contact:
        def first(kind: str) -> str:
            found = person.identities_of(kind)
            return found[0].value if found else ""

        socials = person.identities_of("social")
        phone = first("phone")
        if phone:  # providers address numbers in E.164, whatever the customer typed
            parsed = phonenumbers.parse(phone, person.country or None)
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return cls(
            email=first("email"),
            phone=phone,
            whatsapp=first("whatsapp"),
            social=(socials[0].network, socials[0].value) if socials else None,
            anonymous=first("anonymous"),
        )


def _channels(contact: Contact) -> list[tuple[str, int]]:
    """The channels this customer can use, with how often Fernhill's customers use each."""
    options = [("chat", 14), ("note", 7), ("survey", 6), ("event", 14)]
    if contact.email:
        options.append(("email", 24))
    if contact.phone:
        options += [("sms", 7), ("phone", 10)]
    if contact.whatsapp:
        options.append(("whatsapp", 16))
    if contact.social:
        options.append(("social", 6))
    return options


class ConversationPlanner:
    def __init__(self, rng: random.Random, now: datetime, agents: list[str]) -> None:
        self.rng, self.now, self.agents = rng, now, agents

    def plan(self, key: str, person: Person, conversations: int) -> list[PlannedInteraction]:
        contact = Contact.of(person)
        channels = _channels(contact)
        planned: list[PlannedInteraction] = []
        for index in range(conversations):
            channel = self.rng.choices([c for c, _ in channels], weights=[w for _, w in channels])[0]
            started = self._start_time()
            thread = f"demo:{key}:{index}"
            planned += self._conversation(channel, started, thread, person, contact)
        return sorted(planned, key=lambda p: p.occurred_at)

    def _start_time(self) -> datetime:
        # More contacts recently than a year ago (the business is growing), in waking hours UTC.
        days = YEAR.days * self.rng.random() ** 1.4
        moment = self.now - timedelta(days=days)
        moment = moment.replace(hour=self.rng.randint(7, 21), minute=self.rng.randint(0, 59), second=0, microsecond=0)
        return min(moment, self.now - timedelta(minutes=5))

    def _conversation(
        self, channel: str, started: datetime, thread: str, person: Person, contact: Contact
    ) -> list[PlannedInteraction]:
        if channel == "phone":
            return [self._call(started, person)]
        if channel == "note":
            agent = self.rng.choice(self.agents)
            body = self.rng.choice(texts.NOTES)
            return [PlannedInteraction("note", "internal", started, body, metadata={"agent": agent})]
        if channel == "survey":
            return [self._survey(started)]
        if channel == "event":
            return [self._event(started, person)]
        return self._messages(channel, started, thread, person, contact)

    def _messages(
        self, channel: str, started: datetime, thread: str, person: Person, contact: Contact
    ) -> list[PlannedInteraction]:
        rng = self.rng
        shop = rng.random() < 0.4
        asked = rng.choice(texts.shop_texts() if shop else texts.banking_texts())
        answer = texts.shop_reply(asked, rng) if shop else texts.bank_reply(asked.topic, rng)
        short = channel in ("sms", "whatsapp", "chat", "social")
        if short and shop:
            answer = texts.first_sentence(answer, 300)
        if channel == "sms":
            answer = texts.first_sentence(answer)
        agent = rng.choice(self.agents)
        subject = texts.topic_title(asked.topic) if channel == "email" else ""
        if channel == "email":
            answer = _letter(person.given_name, answer, agent)
        base = self._addressing(channel, contact)

        def message(direction: str, at: datetime, body: str, metadata: dict[str, Any]) -> PlannedInteraction:
            return PlannedInteraction(
                channel, direction, at, body, subject=subject, thread_ref=thread, metadata=metadata
            )

        items = [message("inbound", started, asked.text, {**base, "topic": asked.topic, "text_source": asked.source})]
        replied = started + timedelta(minutes=rng.randint(*_REPLY_DELAY_MINUTES[channel]))
        if replied >= self.now or rng.random() < 0.08:
            return items  # still waiting for an answer
        items.append(message("outbound", replied, answer, {**base, "agent": agent}))
        thanked = replied + timedelta(minutes=rng.randint(2, 600))
        if thanked >= self.now or rng.random() < 0.65:
            return items
        items.append(message("inbound", thanked, rng.choice(_THANKS), dict(base)))
        closed = thanked + timedelta(minutes=rng.randint(1, 90))
        if closed < self.now and channel in ("chat", "email"):
            closing = _letter(person.given_name, _CLOSING, agent) if channel == "email" else _CLOSING
            items.append(message("outbound", closed, closing, {**base, "agent": agent}))
        return items

    @staticmethod
    def _addressing(channel: str, contact: Contact) -> dict[str, Any]:
        if channel == "email":
            return {"address": contact.email}
        if channel in ("sms",):
            return {"number": contact.phone}
        if channel == "whatsapp":
            return {"wa_id": contact.whatsapp}
        if channel == "social" and contact.social:
            return {"network": contact.social[0], "handle": contact.social[1]}
        if channel == "chat":
            return {"visitor": contact.anonymous or "visitor"}
        return {}

    def _call(self, started: datetime, person: Person) -> PlannedInteraction:
        rng = self.rng
        asked = rng.choice(texts.banking_texts())
        agent = rng.choice(self.agents)
        reply = texts.first_sentence(texts.bank_reply(asked.topic, rng), 240)
        body = f"Customer: “{asked.text}”\nAgent ({agent}): {reply}"
        summary = f"Call about {texts.topic_title(asked.topic).lower()} ({rng.randint(2, 19)} min)"
        metadata = {"agent": agent, "topic": asked.topic, "duration_seconds": rng.randint(90, 1_200)}
        return PlannedInteraction("phone", "inbound", started, body, summary=summary, metadata=metadata)

    def _survey(self, started: datetime) -> PlannedInteraction:
        rng = self.rng
        score = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 5, 8, 14, 16, 15])[0]
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = rng.choice(texts.SURVEY_COMMENTS[group])
        return PlannedInteraction(
            "survey",
            "inbound",
            started,
            comment,
            summary=f"NPS {score}: {comment}",
            metadata={"survey": "nps", "score": score, "group": group},
        )

    def _event(self, started: datetime, person: Person) -> PlannedInteraction:
        kind, template = self.rng.choice(texts.EVENTS)
        body = texts.event_text(kind, template, self.rng, _CURRENCY.get(person.country, "€"))
        return PlannedInteraction("event", "inbound", started, body, metadata={"event": kind})
