"""The demo's live channels: an inbox a team would recognise, canned replies, consents, real emails.

The year of history is imported in batches (as a backfill would be), so afterwards this step settles
the conversations the way a working team leaves them — old ones closed, recent ones open or waiting,
some assigned — and then sends a few fresh emails through the real inbound pipeline (raw message
kept, parsed, threaded), so the inbox shows HTML mail, a reply chain and an attachment.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.message import EmailMessage

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core.actor import Actor
from cxloop.customers.models import Customer, IdentityKind
from cxloop.demo.texts import SUPPORT_EMAIL, banking_texts, topic_title
from cxloop.interactions import conversations, inbox
from cxloop.interactions.models import Thread, ThreadStatus
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import ConsentChange, TemplateContent

CLOSE_AFTER = timedelta(days=10)
FRESH_EMAILS = 8

TEMPLATES: tuple[dict[str, str], ...] = (
    {
        "key": "card-replacement",
        "name": "Card replacement on its way",
        "channel": "email",
        "subject": "Your new card is on its way",
        "body": "Hello {{ customer.first_name|default:'there' }},\n\nWe have ordered a replacement card for you. "
        "It should arrive within 3–5 working days; the old card stops working once you activate the new one "
        "in the app.\n\nKind regards,\n{{ agent.name|default:'Fernhill customer care' }}",
    },
    {
        "key": "refund-started",
        "name": "Refund started",
        "channel": "email",
        "subject": "We have started your refund",
        "body": "Hello {{ customer.first_name|default:'there' }},\n\nYour refund is on its way and will show on "
        "your statement within 5 working days. We will keep an eye on it and write again if anything "
        "holds it up.\n\n{{ agent.name|default:'Fernhill customer care' }}",
    },
    {
        "key": "sms-callback",
        "name": "Missed you — call back",
        "channel": "sms",
        "subject": "",
        "body": "Hi {{ customer.first_name|default:'there' }}, this is Fernhill. We tried to call you about your "
        "question. Reply here or call us on +44 20 7946 0321 at a time that suits you.",
    },
    {
        "key": "whatsapp-followup",
        "name": "Checking in",
        "channel": "whatsapp",
        "subject": "",
        "body": "Hi {{ customer.first_name|default:'there' }} 👋 just checking: is everything sorted now? "
        "Reply here if anything is still open.",
    },
)


def settle_conversations(actor: Actor, now: datetime, rng: random.Random) -> dict[str, int]:
    """Close what a team would have closed; assign part of what is still open to the agents."""
    closed = conversations.close_inactive(
        actor, idle_since=now - CLOSE_AFTER, statuses=(ThreadStatus.OPEN, ThreadStatus.WAITING)
    )
    agents = [u for u in inbox.assignable_users(actor) if u.role in ("agent", "supervisor")]
    live = list(Thread.objects.filter(status=ThreadStatus.OPEN).order_by("last_activity_at", "pk"))
    assigned = 0
    for thread in live:
        if agents and rng.random() < 0.5:
            conversations.assign_thread(actor, thread, user=rng.choice(agents))
            assigned += 1
    return {"closed": closed, "open": len(live), "assigned": assigned}


def canned_replies(actor: Actor) -> int:
    known = {t.key for t in messaging_queries.list_templates(actor, include_archived=True)}
    made = 0
    for spec in TEMPLATES:
        if spec["key"] in known:
            continue
        messaging_services.create_template(
            actor,
            key=spec["key"],
            name=spec["name"],
            channel=spec["channel"],
            content=TemplateContent(locale="en", subject=spec["subject"], body_text=spec["body"]),
        )
        made += 1
    return made


def consents(actor: Actor, customers: list[Customer], rng: random.Random) -> int:
    """About half said yes to marketing email at sign-up; a few to SMS offers; some said no."""
    recorded = 0
    for customer in customers:
        roll = rng.random()
        if roll < 0.45:
            changes = [ConsentChange(channel="email", purpose="marketing", granted=True)]
            if rng.random() < 0.15:
                changes.append(ConsentChange(channel="sms", purpose="marketing", granted=True))
        elif roll < 0.55:
            changes = [ConsentChange(channel="email", purpose="marketing", granted=False)]
        else:
            continue
        messaging_services.record_consents(actor, customer, changes, source="import")
        recorded += 1
    return recorded


def _email_of(customer: Customer) -> str:
    identity = customer.identities.filter(kind=IdentityKind.EMAIL).order_by("pk").first()
    return identity.value if identity else ""


def _message(customer: Customer, address: str, text: str, subject: str, index: int, rng: random.Random) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{customer.name} <{address}>" if customer.name else address
    msg["To"] = SUPPORT_EMAIL
    msg["Subject"] = subject
    msg["Message-ID"] = f"<demo-fresh-{index}-{rng.randrange(10**9)}@{address.rpartition('@')[2]}>"
    signature = (
        f"\n\n--\n{customer.name}\nSent from my phone" if rng.random() < 0.5 else f"\n\nThanks,\n{customer.name}"
    )
    msg.set_content(text + signature)
    if index % 3 == 0:
        msg.add_alternative(f"<p>{text}</p><p><b>Thanks</b>,<br>{customer.name}</p>", subtype="html")
    if index % 4 == 1:
        statement = b"%PDF-1.4\n% Fernhill demo statement\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
        msg.add_attachment(statement, maintype="application", subtype="pdf", filename="statement-october.pdf")
    return bytes(msg)


def fresh_emails(customers: list[Customer], rng: random.Random) -> int:
    """A handful of today's emails through the real pipeline, as the SMTP server would take them."""
    texts = list(banking_texts())
    sent = 0
    candidates = [c for c in customers if c.lifecycle_stage in ("customer", "loyal", "at_risk")]
    for index, customer in enumerate(rng.sample(candidates, min(FRESH_EMAILS, len(candidates)))):
        address = _email_of(customer)
        if not address:
            continue
        text = rng.choice(texts)
        raw = _message(customer, address, text.text, topic_title(text.topic), index, rng)
        channel_services.receive(RawPayload(channel="email", data=raw, content_type="message/rfc822", source="demo"))
        sent += 1
    return sent
