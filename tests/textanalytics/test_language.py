"""Language detection: restricted to CXLOOP_TEXT_LANGUAGES, with the customer's locale for short texts."""

from __future__ import annotations

import pytest

from cxloop.textanalytics import analyse, language

LONG = {
    "en": "My card was declined twice today at the supermarket although there is enough money on the account.",
    "de": "Meine Karte wurde heute zweimal im Supermarkt abgelehnt, obwohl genug Geld auf dem Konto ist.",
    "fr": "Ma carte a été refusée deux fois aujourd'hui au supermarché alors qu'il y a assez d'argent sur le compte.",
    "es": "Mi tarjeta fue rechazada dos veces hoy en el supermercado aunque hay suficiente dinero en la cuenta.",
    "nl": "Mijn kaart is vandaag twee keer geweigerd in de supermarkt, terwijl er genoeg geld op de rekening staat.",
    "it": "La mia carta è stata rifiutata due volte oggi al supermercato anche se c'è abbastanza denaro sul conto.",
    "pt": "O meu cartão foi recusado duas vezes hoje no supermercado, embora haja dinheiro suficiente na conta.",
}


@pytest.mark.parametrize("code", sorted(LONG))
def test_long_texts_are_detected(code: str) -> None:
    assert analyse(LONG[code]).language == code


@pytest.mark.parametrize("code", sorted(LONG))
def test_a_long_text_wins_over_a_wrong_hint(code: str) -> None:
    hint = "de" if code != "de" else "en"

    assert analyse(LONG[code], language_hint=hint).language == code


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [("Danke!", "de-CH", "de"), ("ok", "fr_FR", "fr"), ("Merci", "FR", "fr"), ("Thanks a lot", "en-GB", "en")],
)
def test_short_texts_take_the_hint(text: str, hint: str, expected: str) -> None:
    assert analyse(text, language_hint=hint).language == expected


def test_short_text_without_hint_is_unknown_unless_sure() -> None:
    assert analyse("ok").language == ""
    assert analyse("Danke!").language == ""


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "😁😁", "#00108"])
def test_texts_without_letters_take_the_hint_or_nothing(text: str) -> None:
    assert analyse(text).language == ""
    assert analyse(text, language_hint="nl").language == "nl"


@pytest.mark.parametrize("hint", ["", "x", "12", "??", "ру"])
def test_unusable_hints_are_ignored(hint: str) -> None:
    assert language.normalise_hint(hint) == ""


def test_detection_chooses_only_among_the_configured_languages(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TEXT_LANGUAGES = ["en", "fr"]

    assert language.configured_languages() == ("en", "fr")
    assert analyse(LONG["de"]).language in {"en", "fr"}
    assert analyse(LONG["fr"]).language == "fr"


def test_more_languages_can_be_configured(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TEXT_LANGUAGES = ["en", "pl"]

    text = "Moja karta została dzisiaj dwa razy odrzucona w sklepie, chociaż na koncie są pieniądze."

    assert analyse(text).language == "pl"


def test_no_configured_language_means_all_of_them(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TEXT_LANGUAGES = []

    assert language.configured_languages() == ()
    assert (
        analyse("Moja karta została dzisiaj dwa razy odrzucona w sklepie, chociaż na koncie są pieniądze.").language
        == "pl"
    )


def test_an_unknown_language_code_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TEXT_LANGUAGES = ["en", "xx"]

    with pytest.raises(ValueError, match="xx"):
        analyse(LONG["en"])


def test_a_long_text_is_judged_by_its_beginning() -> None:
    text = LONG["de"] + " " + "x" * 50_000

    assert analyse(text).language == "de"
