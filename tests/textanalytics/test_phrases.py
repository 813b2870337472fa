"""Key phrases, RAKE-style, with the stopword list shipped in the package."""

from __future__ import annotations

from cxloop.textanalytics import analyse
from cxloop.textanalytics.phrases import MAX_PHRASES, key_phrases, stopwords


def test_phrases_are_the_runs_between_stopwords_best_first() -> None:
    phrases = key_phrases("The exchange rate was wrong and the ATM withdrawal fee was far too high.")

    assert phrases[0] in {"atm withdrawal fee", "exchange rate"}
    assert set(phrases) >= {"atm withdrawal fee", "exchange rate", "wrong"}


def test_customer_service_phrasing_comes_out_as_phrases() -> None:
    assert analyse("This is the THIRD time I call, nobody answers. Useless.").key_phrases[:2] == (
        "third time",
        "nobody answers",
    )


def test_at_most_five_lower_case_and_without_repeats() -> None:
    text = (
        "Card declined. CARD DECLINED again! Refund missing, exchange rate wrong, top-up failed, "
        "virtual card blocked, PIN locked, app crashes, transfer pending, direct debit unknown."
    )

    phrases = key_phrases(text)

    assert len(phrases) == MAX_PHRASES
    assert all(p == p.lower() for p in phrases)
    assert len(set(phrases)) == len(phrases)
    assert phrases.count("card declined") == 1


def test_a_phrase_inside_a_chosen_one_is_left_out() -> None:
    phrases = key_phrases("Lost card replacement fee. Card replacement.")

    assert "lost card replacement fee" in phrases
    assert "card replacement" not in phrases


def test_numbers_and_ids_are_not_phrases() -> None:
    assert key_phrases("Please check invoice #00108 for order 113542617735902") == ("check invoice", "order")


def test_nothing_to_extract_gives_no_phrases() -> None:
    assert key_phrases("") == ()
    assert key_phrases("Can you help me please?") == ()


def test_a_language_without_a_stopword_list_gets_no_phrases() -> None:
    assert stopwords("de") == frozenset()
    assert key_phrases("Meine Karte wurde abgelehnt", "de") == ()
    assert (
        analyse("Meine Karte wurde heute zweimal im Supermarkt abgelehnt, obwohl genug Geld da ist.").key_phrases == ()
    )


def test_overlong_runs_are_not_phrases() -> None:
    assert key_phrases("card pin reset app login code email") == ()
