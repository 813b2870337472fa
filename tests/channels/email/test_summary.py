"""The summary keeps what the sender wrote now: quotes and signatures off, the customer's words never."""

from __future__ import annotations

import pytest

from cxloop.channels.email.markup import html_to_text
from cxloop.channels.email.quoting import summarize

CASES = [
    pytest.param(
        "Just a question.\n\nOn Mon, 6 Jan 2025, Jane <j@example.com> wrote:\n> old", "Just a question.", id="en"
    ),
    pytest.param(
        "Yes.\n\nOn Mon, 6 Jan 2025 at 10:00, Jane Doe <\njane@example.com> wrote:\n\n> old\n",
        "Yes.",
        id="gmail-wrapped-attribution",
    ),
    pytest.param("Ja.\n\nAm 06.01.2025 um 10:00 schrieb Jane Doe <j@x.de>:\n> alt", "Ja.", id="de"),
    pytest.param("Oui.\n\nLe lun. 6 janv. 2025 à 10:00, Jeanne <j@x.fr> a écrit :\n> ancien", "Oui.", id="fr"),
    pytest.param("Sí.\n\nEl lun, 6 ene 2025 a las 10:00, Juana (<j@x.es>) escribió:\n> viejo", "Sí.", id="es"),
    pytest.param("Ja.\n\nOp ma 6 jan. 2025 om 10:00 schreef Jan <j@x.nl>:\n> oud", "Ja.", id="nl"),
    pytest.param("Sì.\n\nIl giorno lun 6 gen 2025 alle 10:00 Gianna <g@x.it> ha scritto:\n> vecchio", "Sì.", id="it"),
    pytest.param(
        "Done.\n\n-----Ursprüngliche Nachricht-----\nVon: A\nGesendet: Montag\nAn: B\nBetreff: C\n\nalt",
        "Done.",
        id="outlook-de-separator",
    ),
    pytest.param(
        "Merci.\n\nDe : ACME <a@x.fr>\nEnvoyé : lundi 6 janvier 2025 10:00\nÀ : Moi\nObjet : Commande\n\nancien",
        "Merci.",
        id="outlook-fr-header-block",
    ),
    pytest.param(
        "OK\n\n*From:* ACME <a@x.com>\n*Sent:* Monday\n*To:* Me\n*Subject:* Order\n\nold",
        "OK",
        id="outlook-bold-header-block-via-gmail",
    ),
    pytest.param(
        "Gracias.\n\n-----Mensaje original-----\nDe: ACME\nEnviado el: lunes\nPara: Yo\nAsunto: Pedido\n\nviejo",
        "Gracias.",
        id="outlook-es-separator",
    ),
    pytest.param(
        "Please see below.\n\nBegin forwarded message:\n\nFrom: X\nSubject: Y\n\nbody",
        "Please see below.",
        id="apple-fwd",
    ),
    pytest.param(
        "Top\n\n---------- Forwarded message ---------\nFrom: X <x@y>\nDate: Mon\n\nbody", "Top", id="gmail-fwd"
    ),
    pytest.param("Question?\n\n-- \nJane\nACME Ltd", "Question?", id="dash-dash-space"),
    pytest.param("Question?\n\n--\nJane", "Question?", id="dash-dash-stripped"),
    pytest.param("On my way.\n\nGet Outlook for Android", "On my way.", id="outlook-mobile"),
    pytest.param("Danke!\n\nVon meinem iPhone gesendet", "Danke!", id="de-iphone"),
    pytest.param("Merci\n\nEnvoyé de mon iPad", "Merci", id="fr-ipad"),
    pytest.param("Hoi\n\nVerstuurd vanaf mijn iPhone", "Hoi", id="nl-iphone"),
    pytest.param(
        "Can you call me?\n\nKind regards,\nJane Doe\nACME Ltd\n+44 20 7946 0000", "Can you call me?", id="regards"
    ),
    pytest.param("Bitte zurückrufen.\n\nMit freundlichen Grüßen\n\nJane Doe", "Bitte zurückrufen.", id="mfg"),
    pytest.param("Rappelez-moi.\n\nBien cordialement,\nJeanne", "Rappelez-moi.", id="cordialement"),
    pytest.param("Llámame.\n\nUn saludo,\nJuana", "Llámame.", id="saludo"),
    pytest.param("Bel me.\n\nMet vriendelijke groet,\nJan", "Bel me.", id="groet"),
    pytest.param("Can you send it again?\n\nThanks,\nJane", "Can you send it again?", id="thanks-name"),
    pytest.param("Can you send it again?\nThanks, Jane", "Can you send it again?", id="thanks-inline-name"),
    pytest.param("Can you send it again? Thanks!", "Can you send it again? Thanks!", id="thanks-in-sentence"),
    pytest.param("It works now.\n\nThanks!", "It works now.\n\nThanks!", id="lone-thanks-stays"),
    pytest.param("Thanks, that fixed it!", "Thanks, that fixed it!", id="thanks-as-content"),
    pytest.param(
        "On Monday the parcel arrived damaged and my neighbour wrote down the driver's name.",
        "On Monday the parcel arrived damaged and my neighbour wrote down the driver's name.",
        id="sentence-starting-with-on",
    ),
    pytest.param(
        "Here is what the courier wrote:\nParcel left at the door.",
        "Here is what the courier wrote:\nParcel left at the door.",
        id="wrote-colon-without-quote",
    ),
    pytest.param("> quoted only\n> more", "> quoted only\n> more", id="nothing-new-keeps-everything"),
    pytest.param(
        "> Which model?\nX200\n> When?\nMarch\n\n-- \nNils",
        "X200\nMarch",
        id="interleaved-without-attribution",
    ),
    pytest.param("Regards", "Regards", id="only-a-sign-off-is-kept"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("text", "summary"), CASES)
def test_summary(text: str, summary: str) -> None:
    assert summarize(text) == summary


@pytest.mark.parametrize(
    ("text", "sender", "summary"),
    [
        ("Call me.\n\nMaria", "Maria Schmidt", "Call me."),
        ("Call me.\n\n- Maria Schmidt", "Maria Schmidt", "Call me."),
        ("Call me.\n\nKlaus Bauer", "Bauer, Klaus", "Call me."),
        ("Call me.\n\nMaria", "", "Call me.\n\nMaria"),
        ("Call me.\n\nMarta", "Maria Schmidt", "Call me.\n\nMarta"),
        ("Maria", "Maria Schmidt", "Maria"),
    ],
)
def test_sender_name_alone_on_the_last_line_is_a_signature(text: str, sender: str, summary: str) -> None:
    assert summarize(text, sender) == summary


def test_html_blockquotes_become_quoted_lines() -> None:
    html = "<p>New text</p><blockquote><p>Old</p><blockquote>Older</blockquote></blockquote><p>After</p>"

    text = html_to_text(html)

    assert text == "New text\n\n> Old\n>\n> > Older\n\nAfter"


def test_html_text_keeps_pre_formatting_and_drops_head_and_scripts() -> None:
    html = (
        "<html><head><title>T</title><style>x{}</style></head><body><script>bad()</script>"
        "<pre>line 1\n  line 2</pre><table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )

    assert html_to_text(html) == "line 1\n  line 2\n\na b"
