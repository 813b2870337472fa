"""What the demo's customers and staff say: real customer texts, and the answers they get.

Inbound messages are real ones: a sample of BANKING77 (PolyAI, CC BY 4.0), questions customers asked a
bank, and of the Bitext customer-support data set (CDLA-Sharing 1.0), requests to an online shop with
the agent's answer. Both samples ship in data/ (see docs/demo-data.md for how they were drawn); nothing
is read from outside the package. Bitext answers carry {{placeholders}}, filled here with Fernhill's
details. BANKING77 has no answers, so Fernhill's agents answer from the short replies below, one family
of questions each.
"""

from __future__ import annotations

import csv
import io
import random
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

BUSINESS = "Fernhill Bank & Shop"
SUPPORT_PHONE = "+44 20 7946 0321"  # Ofcom's range for drama: reaches nobody
SUPPORT_EMAIL = "help@fernhill.example"
WEBSITE = "fernhill.example"


@dataclass(frozen=True)
class CustomerText:
    text: str
    topic: str  # BANKING77 category or Bitext intent, e.g. "card_arrival", "track_refund"
    source: str  # "banking77" | "bitext"
    answer: str = ""  # Bitext's agent answer, placeholders unfilled


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("cxloop.demo").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def banking_texts() -> tuple[CustomerText, ...]:
    return tuple(CustomerText(r["text"], r["category"].lower(), "banking77") for r in _read("banking77_sample.csv"))


@cache
def shop_texts() -> tuple[CustomerText, ...]:
    return tuple(
        CustomerText(r["instruction"], r["intent"], "bitext", answer=r["response"]) for r in _read("bitext_sample.csv")
    )


def topic_title(topic: str) -> str:
    """A subject line from a topic: "card_arrival" → "Card arrival"."""
    words = topic.replace("_", " ").replace("?", "").strip()
    return words[:1].upper() + words[1:]


# --- filling Bitext's placeholders ---------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_FIXED = {
    "customer support phone number": SUPPORT_PHONE,
    "customer service phone number": SUPPORT_PHONE,
    "support phone number": SUPPORT_PHONE,
    "phone number": SUPPORT_PHONE,
    "customer support email": SUPPORT_EMAIL,
    "customer support email address": SUPPORT_EMAIL,
    "support email": SUPPORT_EMAIL,
    "email": SUPPORT_EMAIL,
    "website name": WEBSITE,
    "website url": f"https://{WEBSITE}",
    "website": WEBSITE,
    "company name": BUSINESS,
    "customer support availability": "8am to 8pm, Monday to Saturday",
    "customer support hours": "8am to 8pm, Monday to Saturday",
    "customer service hours": "8am to 8pm, Monday to Saturday",
    "live chat": "live chat",
    "number of days": "14",
}


def fill_placeholders(text: str, rng: random.Random) -> str:
    """Replace {{...}}: Fernhill's contact details, made-up order numbers, or the UI label itself."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        lowered = key.lower()
        if lowered in _FIXED:
            return _FIXED[lowered]
        if "anonymized" in lowered:
            prefix = "INV" if "invoice" in lowered or "bill" in lowered else "ORD"
            return f"{prefix}-{rng.randint(100_000, 999_999)}"
        return key  # a screen or button name such as "Order History" reads well as it is

    return _PLACEHOLDER.sub(replace, text)


# --- Fernhill's answers to bank questions ---------------------------------------------------------
_REPLIES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (
        ("lost_or_stolen", "compromised", "swallowed", "stolen_phone"),
        (
            "I've frozen your card so nobody can use it, and a replacement is on its way; it usually arrives "
            "within 3 to 5 working days. Anything you don't recognise can be disputed in the app under "
            "Card > Report a problem.",
            "Your card is blocked now. I've ordered a new one with a new number, and your direct debits will "
            "move over to it automatically.",
        ),
    ),
    (
        ("not_recognised", "charged_twice", "extra_charge"),
        (
            "Thanks for flagging this. I can see the payment and I've opened a dispute with the merchant; "
            "you'll get an update within 10 working days and a temporary credit if it takes longer.",
            "That second charge is a pending authorisation that the merchant should release within 7 days. "
            "If it's still there after that, reply here and I'll raise a chargeback.",
        ),
    ),
    (
        ("refund", "reverted"),
        (
            "Refunds from card payments take 5 to 10 working days to show, depending on the merchant. "
            "I've checked and the merchant has sent it, so it should land by the end of the week.",
            "I can't see the refund arriving yet. Could you send the merchant's confirmation? Then I can "
            "trace it with the card network for you.",
        ),
    ),
    (
        ("transfer", "beneficiary", "receiving_money"),
        (
            "Transfers within the UK and SEPA area normally arrive within 2 hours; international ones can "
            "take up to 2 working days. Yours left us this morning with the reference you gave.",
            "The transfer was held by our payment checks. I've released it now and it should reach the "
            "recipient today.",
        ),
    ),
    (
        ("top_up",),
        (
            "Top-ups by debit card are instant and free; by bank transfer they take up to one working day. "
            "I can see yours is still pending with the sending bank.",
            "Your top-up was reversed by the card issuer. Please try again, or top up by bank transfer using "
            "the details under Account > Top up.",
        ),
    ),
    (
        ("exchange", "currency", "fiat"),
        (
            "We use the interbank rate at the moment of payment, plus 0.5% at weekends. The rate you got is "
            "shown in the transaction details in the app.",
            "You can hold and exchange 28 currencies in the app under Accounts > Add currency.",
        ),
    ),
    (
        ("verify", "identity", "source_of_funds", "age_limit"),
        (
            "We have to check who you are before you can use your account fully; it's required by law. "
            "Please upload a photo of your passport or driving licence in the app.",
            "Your documents have been checked and your account is fully verified now. Thanks for your patience.",
        ),
    ),
    (
        ("pin", "passcode"),
        (
            "You can view your PIN in the app under Card > Show PIN. If it's blocked, an ATM's PIN services "
            "menu will unblock it.",
            "I've reset your passcode. You'll get a text with a link to choose a new one.",
        ),
    ),
    (
        ("cash_withdrawal", "atm", "wrong_amount_of_cash"),
        (
            "Cash withdrawals are free up to 200 a month, then 2%. If the ATM gave you less than you asked "
            "for, I'll raise a claim with the ATM operator for you.",
            "That withdrawal was declined by the ATM operator, not by us. Your card works; please try another machine.",
        ),
    ),
    (
        ("card_arrival", "card_delivery", "physical_card", "spare_card", "activate", "about_to_expire", "linking"),
        (
            "Your card was posted on the date shown in the app and usually takes 3 to 5 working days. If it "
            "hasn't arrived in 10 days, I'll cancel it and send another.",
            "You can activate your card in the app by scanning the code on the letter it came with.",
        ),
    ),
    (
        ("virtual", "disposable", "apple_pay", "google_pay"),
        (
            "Virtual cards are free: create one in the app under Cards > New virtual card. Disposable cards "
            "get new details after every payment.",
            "Apple Pay and Google Pay work with all our cards; add the card from the app in one tap.",
        ),
    ),
    (
        ("declined", "not_working", "contactless", "acceptance", "failed"),
        (
            "The payment was declined because the merchant asked for a PIN after five contactless payments "
            "in a row. Inserting the card once will reset that.",
            "I can't see any block on your card; the decline came from the merchant's terminal. Please try "
            "again, and let me know if it happens elsewhere.",
        ),
    ),
]
_GENERIC = (
    "Thanks for getting in touch. I've looked into this and updated your account; you'll see the change "
    "in the app within the hour.",
    "Thank you for your message. I've passed this to the right team and we'll come back to you within one working day.",
)


def bank_reply(topic: str, rng: random.Random) -> str:
    for keys, replies in _REPLIES:
        if any(key in topic for key in keys):
            return rng.choice(replies)
    return rng.choice(_GENERIC)


def shop_reply(text: CustomerText, rng: random.Random) -> str:
    return fill_placeholders(text.answer, rng)


def first_sentence(text: str, limit: int = 160) -> str:
    """A message short enough for an SMS: the first sentence, cut at `limit`."""
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


# --- surveys, notes and events -------------------------------------------------------------------
SURVEY_COMMENTS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "Quick and friendly, sorted in one message.",
        "Best bank app I've used. The chat team is brilliant.",
        "Card replaced within two days, really impressed.",
        "Easy to use and the fees are clear.",
        "The agent explained everything without jargon.",
    ),
    "passive": (
        "Fine, but it took a couple of days to get an answer.",
        "Good app, the shop delivery could be faster.",
        "Helpful in the end, but I had to explain it twice.",
        "OK. Exchange rates could be better at weekends.",
    ),
    "detractor": (
        "Waited a week for a refund that was promised in three days.",
        "My card was declined abroad and nobody picked up the phone.",
        "Had to chase three times about a missing parcel.",
        "The identity check kept failing and the chat bot went in circles.",
        "Charged twice and still waiting for the money back.",
    ),
}

NOTES = (
    "Customer called to confirm identity; security questions passed.",
    "Explained the dispute process; customer happy to wait for the merchant.",
    "Promised a call back tomorrow morning with the outcome of the trace.",
    "Goodwill credit of 15 approved by the supervisor for the delay.",
    "Customer prefers WhatsApp for updates; noted on the profile.",
    "Fraud team confirmed the payments were not the customer's; card replaced.",
    "Parcel marked delivered but customer says it never arrived; courier claim opened.",
    "Customer is moving abroad next month; explained how to keep the account.",
    "Vulnerable customer flag discussed; extra time given for the repayment.",
    "Escalated to Cards & Payments: repeated declines at the same merchant.",
)

EVENTS: tuple[tuple[str, str], ...] = (
    ("order.placed", "Placed order {order} ({items} items, {amount})"),
    ("order.delivered", "Order {order} delivered"),
    ("order.returned", "Returned {items} item(s) from order {order}"),
    ("card.payment_declined", "Card payment of {amount} declined at {merchant}"),
    ("card.frozen", "Froze their card in the app"),
    ("login.new_device", "Logged in from a new device ({device})"),
    ("direct_debit.created", "Set up a direct debit to {merchant}"),
    ("password.reset", "Asked for a password reset"),
)
MERCHANTS = ("Tesco Express", "Deutsche Bahn", "Uber", "Carrefour", "Albert Heijn", "Amazon", "Ryanair", "Zara")
DEVICES = ("iPhone 15", "Pixel 8", "Galaxy S24", "Firefox on Windows", "Safari on macOS")


def event_text(kind: str, template: str, rng: random.Random, currency: str) -> str:
    return template.format(
        order=f"ORD-{rng.randint(100_000, 999_999)}",
        items=rng.randint(1, 6),
        amount=f"{currency}{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        merchant=rng.choice(MERCHANTS),
        device=rng.choice(DEVICES),
    )
