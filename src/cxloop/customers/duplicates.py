"""Batch duplicate detection: Splink scores every plausible pair of active customers.

Identity resolution (services.resolution) only links profiles that share an identity on one inbound
item. People also end up with two profiles that share nothing exactly: a typo in the name, a nickname,
a work address, the number they call from seen again on WhatsApp. This module finds those with
Splink's Fellegi–Sunter model on DuckDB, in memory and offline, and turns every pair at or above the
threshold into a merge suggestion that staff review (nothing is merged here).

The model:
- One row per active customer: the normalised name split into words, the e-mail match keys and their
  mailbox names, every phone and WhatsApp number in E.164, and the country.
- Comparisons: the name (exact, same words in another order, Jaro–Winkler ≥ 0.94 for a typo, a known
  nickname with the same surname, one name's words within the other's as in a WhatsApp profile that
  knows only "Anna", Jaro–Winkler ≥ 0.88, the same surname only), e-mail (an address in common, the
  same distinctive mailbox name at another domain), phone (a number in common) and country.
- Blocking (which pairs are scored at all): a shared e-mail, mailbox name or phone, the same first
  three letters of the name within a country, the same surname, the same words of the name.
- Training: u-probabilities by seeded random sampling, so a run is reproducible; m-probabilities by
  expectation maximisation on two blocking rules once there are enough customers for EM to be
  reliable, and from stated priors below that; the prior odds of a match from deterministic rules.
- u is read as a Beta posterior: the sampled frequency plus U_PRIOR_PAIRS pseudo-pairs distributed as
  the stated u-priors. A large base speaks for itself; a small one (the 40-customer demo, 780 pairs)
  still knows that two strangers almost never share a phone number, and a level never seen among the
  sampled pairs does not become Splink's "one in a million".
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer, CustomerStatus, Identity, IdentityKind
from cxloop.customers.nicknames import canonical_given_name
from cxloop.customers.services.merging import suggest_merge
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

SOURCE = "splink"
MIN_CUSTOMERS = 10  # fewer than this: nothing to learn from, nothing worth scanning
EM_MIN_CUSTOMERS = 1_000  # below this EM has too few true pairs to estimate m; the priors are used
SEED = 20_240_601  # u-sampling seed: the same data always gives the same scores
MAX_U_PAIRS = 2_000_000  # random pairs sampled for u; all pairs when there are fewer

EM_MIN_PAIRS = 100  # an EM training block with fewer pairs than this teaches nothing reliable
PRIOR_WEIGHT = 0.2  # share of the prior in m after EM, so a level EM never saw keeps a plausible m
U_PRIOR_PAIRS = 2_000  # weight of the u-priors, in sampled pairs

Progress = Callable[[str], None]

# m-probabilities (how often a true duplicate pair falls in each level, null level excluded, else
# level last): used as they are below EM_MIN_CUSTOMERS, as EM's starting point and shrinkage target
# above it. They reflect how duplicates arise here: a second profile from another channel.
M_PRIORS: dict[str, list[float]] = {
    # exact, other order, typo, nickname, one name within the other, Jaro-Winkler ≥ 0.88, surname only, else
    "name": [0.5, 0.07, 0.16, 0.06, 0.06, 0.06, 0.05, 0.04],
    # an address in common, same distinctive mailbox name, else
    "email": [0.6, 0.15, 0.25],
    # a number in common, else
    "phone": [0.7, 0.3],
    # same country, else (people move, forms default wrongly)
    "country": [0.95, 0.05],
}
# u-probabilities expected among two different people, same order: a namesake is about one pair in
# two thousand, a shared address or number about one in a hundred thousand (households, shared desks).
U_PRIORS: dict[str, list[float]] = {
    "name": [5e-4, 1e-5, 2e-4, 1e-5, 1e-4, 2e-3, 5e-3, 0.99218],
    "email": [1e-5, 1e-5, 0.99998],
    "phone": [1e-5, 0.99999],
    "country": [0.3, 0.7],
}


@dataclass(frozen=True)
class CustomerRecord:
    """What the model reads of one customer."""

    customer_id: int
    name: str
    country: str
    emails: tuple[str, ...]  # match values: lower-case, "+tag" removed
    phones: tuple[str, ...]  # E.164, phone and WhatsApp alike


@dataclass(frozen=True)
class FieldEvidence:
    level: str  # the comparison level's label, e.g. "Jaro-Winkler ≥ 0.94"
    gamma: int  # Splink's comparison vector value: -1 missing, 0 disagree, higher agrees more
    agrees: bool
    left: Any
    right: Any

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "gamma": self.gamma, "agrees": self.agrees, "values": [self.left, self.right]}


@dataclass(frozen=True)
class ScoredPair:
    first_id: int
    second_id: int
    probability: float
    match_weight: float
    fields: dict[str, FieldEvidence]

    def evidence(self) -> dict[str, Any]:
        agreed = [f"{name}: {f.level}" for name, f in self.fields.items() if f.agrees]
        return {
            "rule": f"Splink, p = {min(self.probability, 0.9999):.4f}: " + ("; ".join(agreed) or "no field agrees"),
            "model": "splink",
            "match_weight": round(self.match_weight, 3),
            "agreed": [name for name, f in self.fields.items() if f.agrees],
            "fields": {name: f.as_json() for name, f in self.fields.items()},
        }


@dataclass
class Scoring:
    pairs: list[ScoredPair] = field(default_factory=list)
    pairs_scored: int = 0
    trained_with: str = ""  # "em" or "priors"; empty when nothing was scored


@dataclass
class DuplicateRun:
    """What one scan did, for the command's summary, the task's result and the tests."""

    threshold: float
    customers_scanned: int = 0
    pairs_scored: int = 0
    pairs_above_threshold: int = 0
    suggestions_created: int = 0
    trained_with: str = ""
    seconds: float = 0.0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "customers_scanned": self.customers_scanned,
            "pairs_scored": self.pairs_scored,
            "pairs_above_threshold": self.pairs_above_threshold,
            "suggestions_created": self.suggestions_created,
            "trained_with": self.trained_with,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


# --- reading the customers ------------------------------------------------------------------
def load_records() -> list[CustomerRecord]:
    """Every active customer with its e-mail and phone keys: two queries, whatever the size."""
    emails: dict[int, set[str]] = {}
    phones: dict[int, set[str]] = {}
    identities = Identity.objects.filter(
        customer__status=CustomerStatus.ACTIVE,
        kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.WHATSAPP],
    ).values_list("customer_id", "kind", "match_value")
    for customer_id, kind, match_value in identities.iterator(chunk_size=5_000):
        target = emails if kind == IdentityKind.EMAIL else phones
        target.setdefault(customer_id, set()).add(match_value)
    customers = (
        Customer.objects.filter(status=CustomerStatus.ACTIVE).order_by("pk").values_list("pk", "name", "country")
    )
    return [
        CustomerRecord(
            customer_id=pk,
            name=name,
            country=country,
            emails=tuple(sorted(emails.get(pk, ()))),
            phones=tuple(sorted(phones.get(pk, ()))),
        )
        for pk, name, country in customers.iterator(chunk_size=5_000)
    ]


# --- features -------------------------------------------------------------------------------
# Letters that Unicode does not decompose into a base letter plus an accent.
_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "'": "", "’": ""}
)


def normalise_name(name: str) -> str:
    """Lower-case, accent-free words: "Seán O'Brien-Smith" → "sean obrien smith", "Łucja" → "lucja"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLD)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in letters).split())


def _name_forms(words: list[str]) -> set[str]:
    """The mailbox names anyone of this name might pick: "annasmith", "smith.anna", "asmith", ..."""
    if not words:
        return set()
    given, surname, joined = words[0], words[-1], "".join(words)
    return {
        joined,
        "".join(reversed(words)),
        given,
        surname,
        "".join(words[1:]),
        "".join(words[1:]) + given,
        given + surname,
        surname + given,
        given[0] + surname,
        given[0] + "".join(words[1:]),
        given + surname[0],
        surname + given[0],
    }


def distinctive_mailboxes(emails: Iterable[str], words: list[str]) -> list[str]:
    """Mailbox names that say more than the name does.

    "anna.smith@" at two providers is what any two Anna Smiths would have, so counting it as evidence
    on top of the matching name would count the name twice (Fellegi–Sunter assumes the comparisons are
    independent). "anna_smith62@" or "hummingbird@" at two providers is real evidence.
    """
    forms = _name_forms(words)
    mailboxes = {e.split("@", 1)[0] for e in emails}
    return sorted(m for m in mailboxes if "".join(ch for ch in m if ch.isalnum()) not in forms)


def _features(record: CustomerRecord) -> dict[str, Any]:
    name = normalise_name(record.name)
    words = name.split()
    given = words[0] if len(words) > 1 else None
    return {
        "unique_id": record.customer_id,
        "name": name or None,
        "name_words": " ".join(sorted(words)) or None,
        "name_tokens": words or None,
        "name_start": name[:3] or None,
        "given_key": canonical_given_name(given) if given else None,
        "surname": words[-1] if len(words) > 1 else None,
        "country": record.country or None,
        "emails": list(record.emails) or None,
        "email_users": distinctive_mailboxes(record.emails, words) or None,
        "phones": list(record.phones) or None,
        # Single keys for EM training, whose blocking rules cannot explode arrays.
        "first_email": record.emails[0] if record.emails else None,
        "first_phone": record.phones[0] if record.phones else None,
    }


def _arrow_table(records: list[CustomerRecord]) -> Any:
    import pyarrow as pa

    rows = [_features(r) for r in records]
    text = pa.string()
    schema = pa.schema(
        [
            ("unique_id", pa.int64()),
            ("name", text),
            ("name_words", text),
            ("name_tokens", pa.list_(text)),
            ("name_start", text),
            ("given_key", text),
            ("surname", text),
            ("country", text),
            ("emails", pa.list_(text)),
            ("email_users", pa.list_(text)),
            ("phones", pa.list_(text)),
            ("first_email", text),
            ("first_phone", text),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


# --- the model ------------------------------------------------------------------------------
def _comparisons() -> list[Any]:
    """The four comparisons, with m-priors used when the data set is too small for EM."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="full name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name").configure(label_for_charts="exact"),
            cll.ExactMatchLevel("name_words").configure(label_for_charts="same words, other order"),
            cll.JaroWinklerLevel("name", 0.94).configure(label_for_charts="typo (Jaro-Winkler ≥ 0.94)"),
            cll.And(cll.ExactMatchLevel("surname"), cll.ExactMatchLevel("given_key")).configure(
                label_for_charts="nickname, same surname"
            ),
            cll.ArraySubsetLevel("name_tokens").configure(label_for_charts="one name within the other"),
            cll.JaroWinklerLevel("name", 0.88).configure(label_for_charts="similar (Jaro-Winkler ≥ 0.88)"),
            cll.ExactMatchLevel("surname").configure(label_for_charts="same surname only"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    ).configure(m_probabilities=M_PRIORS["name"])
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_description="e-mail addresses",
        comparison_levels=[
            cll.NullLevel("emails"),
            cll.ArrayIntersectLevel("emails", min_intersection=1).configure(label_for_charts="an address in common"),
            cll.ArrayIntersectLevel("email_users", min_intersection=1).configure(
                label_for_charts="same distinctive mailbox name, other domain"
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    ).configure(m_probabilities=M_PRIORS["email"])
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_description="phone and WhatsApp numbers",
        comparison_levels=[
            cll.NullLevel("phones"),
            cll.ArrayIntersectLevel("phones", min_intersection=1).configure(label_for_charts="a number in common"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    ).configure(m_probabilities=M_PRIORS["phone"])
    country = cl.CustomComparison(
        output_column_name="country",
        comparison_description="country",
        comparison_levels=[
            cll.NullLevel("country"),
            cll.ExactMatchLevel("country").configure(label_for_charts="same"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    ).configure(m_probabilities=M_PRIORS["country"])
    return [name, email, phone, country]


def _blocking_rules() -> list[Any]:
    from splink import block_on

    return [
        block_on("emails", arrays_to_explode=["emails"]),
        block_on("phones", arrays_to_explode=["phones"]),
        block_on("email_users", arrays_to_explode=["email_users"]),
        block_on("name_start", "country"),
        block_on("surname"),
        block_on("name_words"),
    ]


def _connection() -> Any:
    """An in-memory DuckDB that fails at once rather than download an extension."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
    return con


def _pairs_sharing(values: Iterable[str | None]) -> int:
    counts: dict[str, int] = {}
    for value in values:
        if value:
            counts[value] = counts.get(value, 0) + 1
    return sum(n * (n - 1) // 2 for n in counts.values())


def _train(linker: Any, records: list[CustomerRecord]) -> str:
    """Estimate λ and u always; m by EM only when both training blocks hold enough pairs."""
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("emails", arrays_to_explode=["emails"]), block_on("phones", arrays_to_explode=["phones"])],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=MAX_U_PAIRS, seed=SEED)
    if len(records) < EM_MIN_CUSTOMERS:
        return "priors"
    by_phone = _pairs_sharing(r.phones[0] if r.phones else None for r in records)
    by_name = _pairs_sharing(normalise_name(r.name) for r in records)
    if min(by_phone, by_name) < EM_MIN_PAIRS:
        return "priors"
    # Pairs sharing a phone teach the name, e-mail and country m; pairs sharing a name teach phone's.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_phone"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name"), estimate_without_term_frequencies=True
    )
    return "em"


def _smoothed_model(linker: Any, customers: int, *, trained_with: str) -> dict[str, Any]:
    """The trained model with u and m combined with their priors, and prior odds in a sane range."""
    model: dict[str, Any] = linker.misc.save_model_to_json()
    total_pairs = customers * (customers - 1) / 2
    sampled = min(MAX_U_PAIRS, total_pairs)
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]
        for level, m_prior, u_prior in zip(levels, M_PRIORS[name], U_PRIORS[name], strict=True):
            u = level.get("u_probability")
            u = u if isinstance(u, float | int) else 0.0  # Splink marks a level never sampled as text
            level["u_probability"] = (u * sampled + u_prior * U_PRIOR_PAIRS) / (sampled + U_PRIOR_PAIRS)
            m = level.get("m_probability")
            if trained_with == "em" and isinstance(m, float | int):
                level["m_probability"] = (1 - PRIOR_WEIGHT) * m + PRIOR_WEIGHT * m_prior
            else:
                level["m_probability"] = m_prior
    # At least one duplicate pair in the whole base, at most one customer in ten with a duplicate.
    low, high = 1 / total_pairs, 0.1 * customers / total_pairs
    lam = model.get("probability_two_random_records_match") or low
    model["probability_two_random_records_match"] = min(max(lam, low), high)
    return model


def _level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Each comparison's level labels by gamma: -1 for the null level, then counting down to 0 (else)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        scored = [lvl for lvl in levels if not lvl.get("is_null_level")]
        by_gamma = {
            len(scored) - 1 - i: lvl.get("label_for_charts") or lvl["sql_condition"] for i, lvl in enumerate(scored)
        }
        by_gamma[-1] = "missing on one side"
        labels[comparison["output_column_name"]] = by_gamma
    return labels


_EVIDENCE_COLUMNS = {"name": "name", "email": "emails", "phone": "phones", "country": "country"}


def _to_pair(row: dict[str, Any], labels: dict[str, dict[int, str]]) -> ScoredPair:
    fields: dict[str, FieldEvidence] = {}
    for comparison, column in _EVIDENCE_COLUMNS.items():
        gamma = int(row[f"gamma_{comparison}"])
        fields[comparison] = FieldEvidence(
            level=labels[comparison].get(gamma, str(gamma)),
            gamma=gamma,
            agrees=gamma > 0,
            left=row.get(f"{column}_l"),
            right=row.get(f"{column}_r"),
        )
    return ScoredPair(
        first_id=int(row["unique_id_l"]),
        second_id=int(row["unique_id_r"]),
        probability=float(row["match_probability"]),
        match_weight=float(row["match_weight"]),
        fields=fields,
    )


def score_pairs(records: list[CustomerRecord], *, threshold: float, progress: Progress | None = None) -> Scoring:
    """Score the plausible pairs among `records`; return those at or above `threshold`, best first."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    say = progress or (lambda _message: None)
    if len(records) < MIN_CUSTOMERS:
        return Scoring()
    con = _connection()
    db_api = DuckDBAPI(connection=con)
    sdf = db_api.register(_arrow_table(records), table_name="cxloop_customers")
    settings_creator = SettingsCreator(
        link_type="dedupe_only",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=_blocking_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )
    say(f"training the model on {len(records):,} customers")
    linker = Linker(sdf, settings_creator, log_level=logging.ERROR)
    trained_with = _train(linker, records)
    model = _smoothed_model(linker, len(records), trained_with=trained_with)
    scorer = Linker(sdf, model, log_level=logging.ERROR)
    say("scoring candidate pairs")
    predictions = scorer.inference.predict(warning_mode="never")
    table = predictions.physical_name
    pairs_scored = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
    cursor = con.execute(f"SELECT * FROM {table} WHERE match_probability >= ?", [float(threshold)])  # noqa: S608
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    labels = _level_labels(model)
    pairs = sorted((_to_pair(row, labels) for row in rows), key=lambda p: (-p.probability, p.first_id, p.second_id))
    return Scoring(pairs=pairs, pairs_scored=pairs_scored, trained_with=trained_with)


# --- the scan -------------------------------------------------------------------------------
def find_duplicates(
    actor: Actor,
    *,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> DuplicateRun:
    """Scan all active customers and suggest every likely duplicate pair not decided before.

    Idempotent: suggest_merge skips pairs that are pending, merged or dismissed, so a second run on
    the same data creates nothing. The scoring runs outside any database transaction (it reads a
    snapshot and works in DuckDB); only the suggestions are written, in one transaction.
    """
    actor.require(Perm.CUSTOMERS_MERGE)
    threshold = float(settings.CXLOOP_DUPLICATE_THRESHOLD if threshold is None else threshold)
    if not 0 < threshold < 1:
        raise ValidationError("The threshold must be between 0 and 1.", fields={"threshold": "0 < p < 1"})
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    run = DuplicateRun(threshold=threshold)
    say("reading active customers")
    records = load_records()
    run.customers_scanned = len(records)
    if len(records) < MIN_CUSTOMERS:
        run.skipped = f"fewer than {MIN_CUSTOMERS} active customers; nothing to compare"
        run.seconds = time.perf_counter() - started
        return run
    scoring = score_pairs(records, threshold=threshold, progress=say)
    run.pairs_scored, run.trained_with = scoring.pairs_scored, scoring.trained_with
    run.pairs_above_threshold = len(scoring.pairs)
    say(f"recording {len(scoring.pairs):,} likely duplicate pairs")
    run.suggestions_created = _suggest(actor, scoring.pairs, run)
    run.seconds = time.perf_counter() - started
    logger.info("duplicate scan: %s", run.as_dict())
    return run


@transaction.atomic
def _suggest(actor: Actor, pairs: list[ScoredPair], run: DuplicateRun) -> int:
    ids = {p.first_id for p in pairs} | {p.second_id for p in pairs}
    customers = Customer.objects.in_bulk(list(ids))
    created: list[str] = []
    for pair in pairs:
        first, second = customers.get(pair.first_id), customers.get(pair.second_id)
        if first is None or second is None or not (first.is_active and second.is_active):
            continue  # merged or deleted since the scan read it
        suggestion = suggest_merge(
            actor,
            first,
            second,
            # suggest_merge stores 4 decimals; rounding here too keeps a rerun from "raising" a pending one.
            probability=round(min(pair.probability, 0.9999), 4),
            source=SOURCE,
            evidence=pair.evidence(),
        )
        if suggestion is not None:
            created.append(suggestion.public_id)
    if created:
        record_audit(
            actor,
            "customer.duplicates_found",
            object_type="merge_suggestion",
            object_id=created[0] if len(created) == 1 else f"{len(created)} suggestions",
            summary=f"Duplicate scan suggested {len(created)} merges ({run.customers_scanned} customers scanned)",
            after={"suggestions": created[:1000], "threshold": run.threshold, "trained_with": run.trained_with},
        )
    return len(created)
