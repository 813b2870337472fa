"""What each corpus file must parse to: the important fields, exactly.

Every .eml in corpus/ has an entry here (test_parsing checks that), so a new file cannot slip in untested.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# file -> {field: expected value}; "warnings" lists warnings that must be present (others may be too),
# "no_warnings" asserts there are none.
CASES: dict[str, dict[str, Any]] = {
    "plain_text.eml": {
        "message_id": "CAF1a2b3c4d5e6f7@mail.example.com",
        "from_address": "maria.schmidt@example.com",
        "from_name": "Maria Schmidt",
        "to": ["support@acme.example"],
        "subject": "Order 10023 has not arrived",
        "date": at(2025, 1, 6, 9, 14, 55),
        "summary_text": "Hello,\n\nI ordered a kettle on 20 December (order 10023) and it has still not\n"
        'arrived. The tracking page says "label created" since then.\n\nCan you check what happened?',
        "kind": "message",
        "headers_of_interest": {"X-Mailer": "Thunderbird 128.5.0", "Return-Path": "<maria.schmidt@example.com>"},
        "no_warnings": True,
    },
    "html_only.eml": {
        "text": "Hi team,\n\nI would like a refund for these items:\n\n- Blue mug – 2×\n- Tea towel\n\n"
        "Details are on my order page (https://example.org/orders/778).\n\nThanks,\nTom",
        "summary_text": "Hi team,\n\nI would like a refund for these items:\n\n- Blue mug – 2×\n- Tea towel\n\n"
        "Details are on my order page (https://example.org/orders/778).",
        "html_sanitized": "<p>Hi team,</p>\n<p>I would like a <b>refund</b> for these items:</p>\n"
        "<ul><li>Blue mug – 2×</li><li>Tea towel</li></ul>\n"
        '<p>Details are on <a href="https://example.org/orders/778" target="_blank" rel="noopener noreferrer">'
        "my order page</a>.</p>\n<p>Thanks,<br>Tom</p>",
        "date": at(2025, 1, 7, 21, 2, 11),
        "no_warnings": True,
    },
    "multipart_alternative.eml": {
        "text": "Hello,\n\ndoes the two-year warranty also cover the glass jug of the coffee machine?\n\n"
        "Best regards,\nLena Novak",
        "summary_text": "Hello,\n\ndoes the two-year warranty also cover the glass jug of the coffee machine?",
        "html_sanitized": "<div>Hello,<br><br>does the two-year warranty also cover the <i>glass jug</i> of the coffee "
        "machine?<br><br>Best regards,<br>Lena Novak</div>",
        "no_warnings": True,
    },
    "attachment_pdf.eml": {
        "to": ["billing@acme.example"],
        "text": "Hi, the attached invoice charges shipping twice. Please correct it.\n\nAhmed",
        "attachments": [("invoice-2024-118.pdf", "application/pdf", "application/pdf", 142, "", False)],
        "no_warnings": True,
    },
    "attachment_png_rfc2231_name.eml": {
        "from_name": "Jürgen Weiß",
        "subject": "Foto vom beschädigten Paket",
        "text": "Guten Tag, anbei ein Foto vom beschädigten Paket.",
        "attachments": [("Schäden am Paket.png", "image/png", "image/png", 69, "", False)],
        "no_warnings": True,
    },
    "inline_cid_image.eml": {
        "text": "The checkout page shows this error:\n\n[image: error.png]\n\nGrace",
        "html_sanitized": '<div>The checkout page shows this error:</div><div><img src="cid:ii_m5x1@example.com" '
        'alt="error.png" width="320"><img></div><div>Grace</div>',
        "attachments": [("error.png", "image/png", "image/png", 69, "ii_m5x1@example.com", True)],
        "date": at(2025, 1, 11, 17, 1),
    },
    "gmail_reply.eml": {
        "message_id": "CAJxq1TfZ0aBcD-8Jj@mail.gmail.com",
        "in_reply_to": "ticket-881.2@acme.example",
        "references": ["ticket-881.1@acme.example", "ticket-881.2@acme.example"],
        "subject": "Re: [Ticket #881] Your replacement order",
        "summary_text": "Yes, please send the replacement to my office address instead.",
        "date": at(2025, 1, 13, 13, 11, 7),
        "no_warnings": True,
    },
    "outlook_reply.eml": {
        "from_name": "Bauer, Klaus",
        "subject": "AW: Ihre Anfrage 4471",
        "in_reply_to": "req-4471@acme.example",
        "summary_text": "Hallo,\n\ndie Lieferung ist heute angekommen, vielen Dank für die schnelle Hilfe.",
        "no_warnings": True,
    },
    "outlook_original_message.eml": {
        "message_id": "000001db6780$1a2b3c40$4e5f6a70$@example.com",
        "summary_text": "Please cancel the renewal, we no longer need the service.",
        "headers_of_interest": {"X-Mailer": "Microsoft Outlook 16.0"},
    },
    "apple_mail_reply.eml": {
        "message_id": "5C1F3E2A-7B9D-4C11-9E20-2D8F5A6B7C80@example.com",
        "summary_text": "Thursday morning works for me.",
        "kind": "message",
    },
    "german_reply.eml": {
        "summary_text": "Hallo zusammen,\n\ndas Ersatzteil passt leider nicht. Können Sie mir bitte ein anderes\n"
        "schicken?",
        "date": at(2025, 1, 17, 9, 10, 10),
    },
    "french_reply.eml": {
        "from_name": "François Lefèvre",
        "subject": "Re\xa0: Votre commande",
        "summary_text": "Bonjour,\n\nJe n'ai toujours pas reçu le remboursement promis.",
    },
    "spanish_reply.eml": {"summary_text": "Perfecto, entonces espero la talla M."},
    "dutch_reply.eml": {
        "summary_text": "Het pakket is vandaag teruggestuurd, hier is de verzendcode: 3S-NL-8812.",
    },
    "signature_dashdash.eml": {
        "summary_text": "Please update my delivery address to 12 High Street, Oxford OX1 1AA.",
        "text": "Please update my delivery address to 12 High Street, Oxford OX1 1AA.\n\n-- \nOliver Grant\n"
        "Grant & Sons Ltd\n+44 20 7946 0000\nhttps://grant.example.co.uk",
    },
    "iphone_signature.eml": {"summary_text": "Is the Berlin store open on Sunday?"},
    "interleaved_reply.eml": {"summary_text": "The X200.\n\nIn March 2023."},
    "latin1_declared_utf8.eml": {
        "text": "Sehr geehrte Damen und Herren,\n\nauf der Rechnung steht die falsche Straße. Bitte ändern Sie sie "
        "in Müllerstraße 5.\n\nGrüße aus Köln",
        "warnings": ["message: declared charset 'utf-8' does not fit the bytes; guessed cp1252"],
    },
    "utf8_declared_ascii.eml": {
        "subject": "Café order",
        "text": "The café au lait capsules arrived crushed – all 30 of them. Ευχαριστώ!",
        "warnings": [
            "message: declared charset 'us-ascii' does not fit the bytes; read as UTF-8",
            "subject: raw 8-bit bytes in header",
        ],
    },
    "unknown_charset.eml": {
        "text": "Приветствую! The blender's lid is cracked.",
        "warnings": ["message: unknown charset 'x-totally-bogus'; read as UTF-8"],
    },
    "unknown_8bit.eml": {
        "text": "Le colis est arrivé abîmé, la théière est cassée. Merci de me répondre rapidement, "
        "c'est un cadeau pour Noël.",
        "warnings": ["message: unknown charset 'unknown-8bit'; guessed cp1252"],
    },
    "rfc2047_subject_from.eml": {
        "subject": "Rückfrage zur Bestellung ✔ 📦 Nr. 442",
        "from_name": "Müller, Hans-Jörg",
        "from_address": "hj.mueller@example.de",
        "to": ["support@acme.example"],
        "cc": ["anna@example.de", "b.test@example.de"],
        "reply_to": ["hj.private@example.de"],
        "no_warnings": True,
    },
    "broken_encoded_words.eml": {
        "subject": "=?utf-8?B?***not base64***?= Hello café ok =?utf-8?B?w6k",
        "from_name": "JörgSchön",
        "from_address": "joerg.schoen@example.de",
        "warnings": [
            "from: encoded-word: unknown charset 'x-unknown'; guessed cp1252",
            "subject: malformed encoded-word left as it is",
        ],
    },
    "split_multibyte_word.eml": {"subject": "注文の配送について", "text": "注文の配送について質問があります。"},
    "missing_boundary.eml": {
        "text": "Here is the warranty card you asked for.",
        "attachments": [("warranty.pdf", "application/pdf", "application/pdf", 142, "", False)],
        "warnings": ["multipart/mixed boundary taken from the body (=_b0undary_42)"],
    },
    "truncated_multipart.eml": {
        "text": "The sofa fabric is torn, photos attached.",
        "attachments": [("sofa.png", "image/png", "image/png", 30, "", False)],
        "warnings": ["message: multipart body ends without its closing boundary (truncated?)"],
    },
    "bad_base64.eml": {
        "text": "Hello, my dishwasher leaks. Please help",
        "attachments": [("log.bin", "application/octet-stream", "text/plain", 3, "", False)],
        "warnings": [
            "message part 1: base64 content with invalid characters",
            "message part 2: base64 content with bad padding",
        ],
    },
    "missing_message_id.eml": {
        "message_id": "cxloop-fc98a1b8c0106dec8585b20c18555e28523b8978@missing",
        "warnings": ["no Message-ID; one was derived from the content"],
    },
    "missing_date.eml": {"date": None, "warnings": ["no Date header"]},
    "bad_date.eml": {"date": None, "warnings": ["unreadable Date header 'Thursday the 32nd of Smarch, sometime'"]},
    "out_of_office_exchange.eml": {
        "kind": "auto_reply",
        "bounce": None,
        "headers_of_interest": {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    },
    "out_of_office_german.eml": {"kind": "auto_reply"},
    "out_of_office_x_autoreply.eml": {"kind": "auto_reply", "subject": "Re: Your order has shipped"},
    "out_of_office_french.eml": {"kind": "auto_reply", "subject": "Réponse automatique\xa0: Votre facture"},
    "precedence_bulk_newsletter.eml": {
        "kind": "auto_reply",
        "headers_of_interest": {
            "List-Id": "Garden News <news.garden.example.org>",
            "List-Unsubscribe": "<mailto:unsubscribe@garden.example.org>, <https://garden.example.org/u/123>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Precedence": "bulk",
        },
    },
    "read_receipt_mdn.eml": {
        "kind": "auto_reply",
        "attachments": [
            ("attachment-1.txt", "message/disposition-notification", "text/plain", 187, "", False),
        ],
    },
    "dsn_bounce_permanent.eml": {
        "kind": "bounce",
        "from_address": "MAILER-DAEMON@mx.acme.example",
        "bounce": (
            ["nobody.here@example.com"],
            "5.1.1",
            True,
            "550 5.1.1 <nobody.here@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
            "out-5521@acme.example",
        ),
        "attachments": [("Your invoice.eml", "message/rfc822", "text/plain", 257, "", False)],
    },
    "dsn_bounce_transient.eml": {
        "kind": "bounce",
        "bounce": (
            ["slow.inbox@example.net"],
            "4.4.1",
            False,
            "connect to mx.example.net[198.51.100.7]:25: Connection timed out",
            "out-7788@acme.example",
        ),
        "attachments": [],
    },
    "gmail_dsn_failure.eml": {
        "kind": "bounce",
        "bounce": (
            ["no.such.person@example.com"],
            "5.1.1",
            True,
            "550-5.1.1 The email account that you tried to reach does not exist.",
            "out-9001@acme.example",
        ),
    },
    "mailer_daemon_bounce_exim.eml": {
        "kind": "bounce",
        "bounce": (
            ["gone.away@example.org"],
            "5.2.1",
            True,
            "550 5.2.1 The email account that you tried to reach is disabled.",
            "out-3003@acme.example",
        ),
    },
    "qmail_bounce.eml": {
        "kind": "bounce",
        "from_name": "",
        "date": at(2025, 1, 29, 9, 0),
        "bounce": (
            ["former.customer@old.example.net"],
            "5.1.1",
            True,
            "Sorry, no mailbox here by that name. (#5.1.1)",
            "out-4004@acme.example",
        ),
    },
    "forward_rfc822.eml": {
        "summary_text": "See the courier's message below, is this really from you?",
        "attachments": [("Your delivery notice.eml", "message/rfc822", "text/plain", 292, "", False)],
        "kind": "message",
    },
    "winmail_dat.eml": {
        "text": "The contract draft is attached.",
        "attachments": [("winmail.dat", "application/ms-tnef", "application/vnd.ms-tnef", 75, "", False)],
        "warnings": ["winmail.dat (TNEF) attachment kept as it is; its contents are not unpacked"],
    },
    "html_script_onclick_style.eml": {
        "text": "Hello agent,\n\nclick me or this link (https://example.net/ok) or that one or data.",
        "html_sanitized": '<p>Hello <b>agent</b>,</p>\n<p><a target="_blank" rel="noopener noreferrer">click me</a> '
        'or <a href="https://example.net/ok" target="_blank" rel="noopener noreferrer">this link</a>\nor '
        '<a target="_blank" rel="noopener noreferrer">that one</a> or '
        '<a rel="noopener noreferrer" target="_blank">data</a>.</p>\n<img>\n'
        '<img src="cid:part1.abc@example.net" alt="chart">',
    },
    "header_8bit.eml": {
        "subject": "Prüfung der Garantie für Gerät 7",
        "from_name": "Jürgen Köhler",
        "from_address": "jk@example.de",
        "warnings": ["subject: raw 8-bit bytes in header"],
    },
    "duplicate_headers.eml": {
        "from_address": "first@example.com",
        "subject": "First subject",
        "message_id": "dup-1@example.com",
        "warnings": [
            "2 from headers; the first was used",
            "2 subject headers; the first was used",
            "2 message-id headers; the first was used",
        ],
    },
    "mbox_crlf.eml": {"text": "Line one.\nLine two.", "subject": "CRLF line endings", "no_warnings": True},
    "gmail_html_only_reply.eml": {
        "text": "Got them, thank you!\n\nOmar\n\nOn Fri, 31 Jan 2025 at 17:00, ACME Support <support@acme.example> "
        "wrote:\n> We have sent the missing screws.\n> ACME Support",
        "summary_text": "Got them, thank you!",
    },
    "apple_mixed_inline_parts.eml": {
        "summary_text": "The table arrived with a scratch, see here:\n\nCan you send a replacement top?",
        "attachments": [("scratch.png", "image/png", "image/png", 69, "", True)],
    },
    "quoted_printable_broken.eml": {
        "text": "Olá! The price =ZZ is wrong and this line is soft wrapped. Trailing",
    },
    "thunderbird_forward_inline.eml": {
        "summary_text": "The confirmation shows the wrong colour, I ordered green.",
    },
    "calendar_invite.eml": {
        "text": "Installation appointment on 5 February at 10:00.",
        "attachments": [("attachment-1.ics", "text/calendar", "text/calendar", 163, "", False)],
    },
    "docx_and_unsafe_filenames.eml": {
        "text": "Three documents attached.",
        "attachments": [
            ("passwd", "application/octet-stream", "text/plain", 31, "", False),
            (
                "sözleşme.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                449,
                "",
                False,
            ),
            ("invoicegpj.exe", "application/pdf", "application/pdf", 142, "", False),
            ("attachment-4.pdf", "application/pdf", "application/pdf", 142, "", False),
        ],
    },
    "customer_undelivered_parcel.eml": {
        "kind": "message",
        "bounce": None,
        "subject": "Undelivered parcel - order 8812",
    },
    "customer_out_of_office_chair.eml": {"kind": "message", "subject": "Out of office chair broken after a week"},
}

ERRORS = {
    "empty.eml": "the message is empty",
    "garbage.eml": "not an email: no header lines found",
    "missing_from.eml": "no From header: the sender is unknown",
}
