"""On PostgreSQL, a trigram index makes "name contains" searches fast on millions of customers.

SQLite has no equivalent; there the search stays a scan of the (indexed) search_name column.
"""

from django.db import migrations


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customers_search_name_trgm "
        "ON customers_customer USING gin (search_name gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS customers_search_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
