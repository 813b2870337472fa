"""PostgreSQL: leave room in the identity table's pages so last-seen updates stay HOT.

Resolution stamps `last_seen_at` on every matched identity. With full pages PostgreSQL writes each
update as a new tuple on another page and adds it to all nine indexes; with free space on the page
(fillfactor 80) the update is heap-only and the indexes are not touched. SQLite has no such setting.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_identity SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_identity RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_identity_value_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
