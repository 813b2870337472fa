"""`cxloop demo`: a small Fernhill Bank & Shop built through the real services, checked like a user would."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cxloop.accounts.models import Team, User
from cxloop.core.actor import Actor
from cxloop.customers.models import AttributeDefinition, Customer, Identity, MergeSuggestion
from cxloop.customers.normalization import canonicalize
from cxloop.demo.builder import STAFF, DemoBuilder
from cxloop.demo.conversations import ConversationPlanner
from cxloop.demo.people import PeopleGenerator
from cxloop.interactions.models import Interaction, Thread
from cxloop.privacy.models import AuditEntry


@pytest.fixture(autouse=True)
def quick_passwords_and_var_dir(settings, tmp_path: Path) -> Path:
    # PBKDF2 at Django's default cost is 0.4 s per user here; the demo's behaviour does not depend on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path
    return tmp_path


def _demo(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def demo(db: None) -> tuple[str, str]:
    return _demo("--customers", "40", "--seed", "7")


def test_staff_of_every_role_can_log_in_with_the_printed_passwords(demo, tmp_path):
    out, _ = demo

    for member in STAFF:
        user = User.objects.get(username=member.username)
        assert user.role == member.role
        assert user.check_password(f"{member.username}-demo")
        assert (user.team.name if user.team else None) == member.team
    assert set(User.objects.values_list("role", flat=True)) == {"admin", "supervisor", "agent", "analyst"}
    assert set(Team.objects.values_list("name", flat=True)) == {
        "Customer Care",
        "Cards & Payments",
        "Online Shop",
        "Insights",
    }
    logins = (tmp_path / "demo_login.txt").read_text(encoding="utf-8")
    assert "  admin       ada / ada-demo\n" in logins
    assert "  analyst     charlie / charlie-demo\n" in logins
    assert logins.strip() in out
    assert AuditEntry.objects.filter(action="user.created", actor_label="demo").count() == len(STAFF)


def test_customers_are_canonical_audited_and_described(demo):
    customers = list(Customer.objects.prefetch_related("identities", "tags"))

    assert len(customers) == 40
    assert len({c.country for c in customers}) >= 4
    for identity in Identity.objects.all():
        again = canonicalize(identity.kind, identity.value, network=identity.network or None)
        assert (again.value, again.match_value) == (identity.value, identity.match_value), identity
        if identity.kind in ("phone", "whatsapp"):
            number = phonenumbers.parse(identity.value)
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == identity.value
    kinds = set(Identity.objects.values_list("kind", flat=True))
    assert kinds == {"email", "phone", "whatsapp", "social", "external", "anonymous"}
    assert set(AttributeDefinition.objects.values_list("key", flat=True)) == {
        "tier",
        "lifetime_value",
        "newsletter",
        "customer_since",
        "account_manager",
    }
    assert sum(bool(c.attributes.get("tier")) for c in customers) >= 20
    assert AuditEntry.objects.filter(action="customer.created", actor_label="demo").count() == 40


def test_a_year_of_interactions_on_every_channel(demo):
    out, _ = demo
    interactions = Interaction.objects.all()
    now = timezone.now()

    count = interactions.count()
    assert f"{count:,} interactions" in out
    assert count >= 40 * 5
    channels = set(interactions.values_list("channel", flat=True))
    assert len(channels) >= 6
    assert {"email", "chat", "note", "survey", "event"} <= channels
    assert set(interactions.values_list("direction", flat=True)) == {"inbound", "outbound", "internal"}
    times = list(interactions.values_list("occurred_at", flat=True))
    assert all(now - timedelta(days=366) <= t <= now for t in times)
    assert len({(t.year, t.month) for t in times}) >= 10
    assert AuditEntry.objects.filter(action="interaction.recorded").count() == count
    threaded = Thread.objects.filter(interactions__direction="outbound").distinct()
    assert threaded.exists()
    assert not Interaction.objects.filter(body__contains="{{").exists()
    replies = Interaction.objects.filter(channel="email", direction="outbound")
    assert replies.exists()
    assert all(reply.body.rstrip().endswith("Fernhill Bank & Shop") for reply in replies)


def test_planted_duplicates_become_merge_suggestions(db):
    builder = DemoBuilder(customers=40, seed=7)

    summary = builder.build()

    assert summary.duplicates_planted == len(summary.planted_pairs) == 2
    suggested = {
        frozenset((s.customer_a.public_id, s.customer_b.public_id))
        for s in MergeSuggestion.objects.filter(source="splink", status="pending").select_related(
            "customer_a", "customer_b"
        )
    }
    assert suggested == {frozenset(pair) for pair in summary.planted_pairs}
    assert summary.suggestions == 2


def test_if_empty_is_a_no_op_the_second_time(demo):
    counts = (Customer.objects.count(), Interaction.objects.count(), User.objects.count(), AuditEntry.objects.count())

    out, _ = _demo("--if-empty", "--customers", "40")

    assert out.startswith("The database already has 40 customers")
    assert "Nothing to do." in out
    after = (Customer.objects.count(), Interaction.objects.count(), User.objects.count(), AuditEntry.objects.count())
    assert after == counts


def test_a_database_with_customers_is_refused_without_if_empty(demo):
    with pytest.raises(CommandError, match="already has 40 customers"):
        _demo("--customers", "10")

    assert Customer.objects.count() == 40


def test_existing_users_keep_their_passwords(ada, tmp_path):
    _demo("--customers", "12", "--seed", "3")

    ada.user.refresh_from_db()
    assert ada.user.check_password("ada-pass-123")
    assert not ada.user.check_password("ada-demo")
    logins = (tmp_path / "demo_login.txt").read_text(encoding="utf-8")
    assert "ada / ada-demo" not in logins
    assert "kept existing users with their own passwords: ada" in logins


def test_progress_is_shown_on_stderr(db):
    _, err = _demo("--customers", "12", "--seed", "3")

    assert "customers      [##############################]     12/12" in err
    assert "interactions   [##############################]" in err


def test_customers_must_be_at_least_one(db):
    with pytest.raises(CommandError, match="at least 1"):
        _demo("--customers", "0")

    assert not User.objects.exists()


def test_same_seed_plans_the_same_people_and_conversations():
    now = timezone.now().replace(microsecond=0)

    def plan(seed: int) -> list[object]:
        generator = PeopleGenerator(seed)
        people = [generator.person() for _ in range(30)]
        planner = ConversationPlanner(generator.rng, now, ["alice", "bob"])
        return [(p, planner.plan(str(i), p, 3)) for i, p in enumerate(people)]

    assert plan(5) == plan(5)
    assert plan(5) != plan(6)


def test_system_actor_builds_everything(db):
    # the demo writes only through services, as the system actor "demo"; today's emails arrive through
    # the email channel's pipeline, which acts as the channel
    DemoBuilder(customers=12, seed=1).build()

    labels = set(AuditEntry.objects.values_list("actor_label", flat=True))
    # and the case module's own system actors react to it: intake opens cases from the emails, cases hand their
    # conversations to the case owner, the sweeps mark missed promises
    assert labels <= {"demo", "channel:email", "cases:intake", "cases", "promise-sweep"}
    assert {"demo", "channel:email"} <= labels
    assert Actor.system("demo").label == "demo"
