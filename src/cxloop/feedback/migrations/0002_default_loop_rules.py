"""The closed-loop rules a fresh installation starts with, so that unhappy answers are followed up from day one:
an NPS detractor (0–6), a CSAT of 1 or 2, and an angry comment on any survey. Admins change, switch off or
delete them under Feedback → Follow-up rules; this migration only adds them where no rule of that name exists.
"""

import secrets

from django.db import migrations

RULES = [
    ("NPS detractor (≤ 6)", {"kinds": ["nps"], "score_at_most": 6}),
    ("CSAT ≤ 2", {"kinds": ["csat"], "score_at_most": 2}),
    ("Angry comment (anger, sentiment < −0.5)", {"has_comment": True, "emotions": ["anger"], "sentiment_below": -0.5}),
]
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _public_id() -> str:
    return "lpr_" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def add_rules(apps, schema_editor):  # type: ignore[no-untyped-def]
    rule = apps.get_model("feedback", "LoopRule")
    for position, (name, conditions) in enumerate(RULES, start=1):
        if not rule.objects.filter(name=name).exists():
            rule.objects.create(
                public_id=_public_id(),
                name=name,
                position=position,
                conditions=conditions,
                priority="high",
                assign_to_agent=True,
            )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
