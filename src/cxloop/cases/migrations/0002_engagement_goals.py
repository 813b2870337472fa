"""The five engagement goals every installation starts with (admins may rename, retire or add to them)."""

from django.db import migrations

GOALS = [
    ("attract", "Attract", "Win attention: prospects and leads who are not customers yet."),
    ("acquire", "Acquire", "Turn an interested prospect into a customer."),
    ("care", "Care", "Help a customer with a question, a fault or a complaint."),
    ("retain", "Retain", "Keep a customer who might leave."),
    ("grow", "Grow", "Help a customer do and buy more."),
]


def add_goals(apps, schema_editor):  # type: ignore[no-untyped-def]
    goal = apps.get_model("cases", "Goal")
    for position, (key, name, description) in enumerate(GOALS):
        goal.objects.get_or_create(key=key, defaults={"name": name, "description": description, "position": position})


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(add_goals, migrations.RunPython.noop)]
