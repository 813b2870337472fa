"""Text analytics in the product: the customer's words on interactions scored and stored with them.

Scoring happens after ingest, never inside it: the ingest benchmarks (docs/benchmarks.md (a) and (c)) are close to
their goals, and a message is worth routing and reading before it is worth scoring. A row waits in the partial
index interactions_text_pending until `score_pending` (the worker's task, kicked after ingest and swept every
minute) or the backfill command scores it. Routing does not wait: it scores a first message on the fly
(`analyse_interaction`) when no stored score exists yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cxloop import textanalytics
from cxloop.channels.email.quoting import summarize as email_new_part
from cxloop.core.actor import Actor
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import CALL_CHANNEL, CUSTOMER_TEXT_CHANNELS, Interaction
from cxloop.interactions.queries import CustomerText

BATCH = 500
# The longest text scored: the customer's point is made long before; a pasted log must not stall a batch.
TEXT_MAX = 20_000
# Where inbound email summaries end when cut (channels/email/adapter.py): then the whole new part is scored.
_CUT = "…"

Progress = Callable[[int], None]


def _actor() -> Actor:
    return Actor.system("textanalytics")


def is_customer_text(channel: str, direction: str, kind: str = "message") -> bool:
    """Whether text analytics reads this row: a customer's message on a written channel, or a call's notes.
    Auto-replies and bounces are not the customer's words."""
    if kind not in ("", "message"):
        return False
    if channel == CALL_CHANNEL:
        return direction in ("inbound", "outbound")
    return direction == "inbound" and channel in CUSTOMER_TEXT_CHANNELS


def text_of(channel: str, direction: str, summary: str, body: str) -> str:
    """The customer's own words in a row. An inbound email's summary is its new part (quotes and signature gone),
    whole unless it was cut to fit the summary, in which case the new part is taken from the body again."""
    if channel == "email" and direction == "inbound" and summary.strip():
        if summary.endswith(_CUT) and body.strip():
            return email_new_part(body[:TEXT_MAX]) or summary
        return summary
    return (body or summary)[:TEXT_MAX]


def _kind(metadata: dict[str, object]) -> str:
    return str(metadata.get("kind", "message"))


def _language_hint(metadata: dict[str, object]) -> str:
    hint = metadata.get("language")
    return hint if isinstance(hint, str) else ""


def analyse_row(row: CustomerText) -> textanalytics.TextAnalysis | None:
    """The analysis of one row, or None when it holds none of the customer's words."""
    if not is_customer_text(row.channel, row.direction, _kind(row.metadata)):
        return None
    text = text_of(row.channel, row.direction, row.summary, row.body)
    if not text.strip():
        return None
    return textanalytics.analyse(text, language_hint=_language_hint(row.metadata))


def analyse_interaction(interaction: Interaction) -> textanalytics.TextAnalysis | None:
    """What routing needs of a message that has no stored score yet: the same analysis the worker will store."""
    metadata = interaction.metadata if isinstance(interaction.metadata, dict) else {}
    return analyse_row(
        CustomerText(
            interaction.pk or 0,
            interaction.channel,
            interaction.direction,
            interaction.summary,
            interaction.body,
            metadata,
        )
    )


def score_rows(rows: Sequence[CustomerText]) -> int:
    """Analyse `rows` and store the results with one bulk update (rows without the customer's words are marked
    done); returns how many were scored."""
    if not rows:
        return 0
    results = [(row.id, analyse_row(row)) for row in rows]
    interaction_services.store_text_analyses(_actor(), results)
    return sum(analysis is not None for _, analysis in results)


def score_pending(
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    since: datetime | None = None,
    newest_first: bool = True,
    progress: Progress | None = None,
) -> int:
    """Score the customer's texts not scored yet, `batch` rows at a time; returns how many were scored. Rows
    that hold none of the customer's words (our answers, notes, auto-replies) are marked done on the way.

    The worker takes the newest first (fresh messages matter most in the inbox), the backfill command the oldest
    first, so the two meet in the middle rather than scoring the same rows. Each batch moves past the last id it
    read, so a row another process has just scored, or one that cannot be stored, never makes it spin.
    """
    actor, done, batches, edge = _actor(), 0, 0, None
    while max_batches is None or batches < max_batches:
        bound = {"before_id": edge} if newest_first else {"after_id": edge}
        rows = interaction_queries.texts_to_analyse(actor, limit=batch, since=since, newest_first=newest_first, **bound)
        if not rows:
            break
        stored = score_rows(rows)
        done += stored
        batches += 1
        edge = rows[-1].id
        if progress is not None:
            progress(len(rows))
    return done


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill run will do: how many texts were put back to be scored again (with --all), and how many
    interactions wait to be looked at in all."""

    marked: int
    pending: int


def plan_backfill(*, since: datetime | None = None, rescore_all: bool = False) -> BackfillPlan:
    """Prepare a backfill: with `rescore_all`, the texts scored before (since `since`) are put back among those
    to score; their old scores stay visible until the new ones replace them. An interrupted run leaves the rest
    pending, so running the backfill again (or just the worker) finishes it."""
    actor = _actor()
    marked = interaction_services.mark_texts_for_rescoring(actor, since=since) if rescore_all else 0
    return BackfillPlan(marked=marked, pending=interaction_queries.count_texts_to_analyse(actor, since=since))


def backfill(*, batch: int = BATCH, since: datetime | None = None, progress: Progress | None = None) -> int:
    """Score every pending text (since `since`), oldest first, in batches of `batch`."""
    return score_pending(batch=batch, since=since, newest_first=False, progress=progress)
