"""PostgreSQL: leave room in the case table's pages so SLA and activity updates stay HOT.

The SLA sweep and the message subscriber update columns no index covers (sla_state, last response and
customer-message times, version). With full pages each such update is a new tuple on another page, added to
all nine indexes of the table; with free space on the page (fillfactor 85) it is heap-only. At 1M cases the
sweep's case updates were most of its time. SQLite has no such setting.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE cases_case SET (fillfactor = 85)")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE cases_case RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_sla_due_partial_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
