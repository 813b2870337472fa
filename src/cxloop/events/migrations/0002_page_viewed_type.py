"""The `page.viewed` event type that the website tracking snippet sends (not on the timeline: page views are many)."""

from django.db import migrations

PAGE_VIEWED_SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "maxLength": 2048},
        "path": {"type": "string", "maxLength": 2048},
        "title": {"type": "string", "maxLength": 500},
        "referrer": {"type": "string", "maxLength": 2048},
    },
    "required": ["url"],
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    "maxProperties": 20,
}


def register(apps, schema_editor):  # type: ignore[no-untyped-def]
    EventType = apps.get_model("events", "EventType")
    EventType.objects.get_or_create(
        key="page.viewed",
        defaults={
            "name": "Page viewed",
            "description": "A page of the business's website, sent by the website tracking snippet.",
            "properties_schema": PAGE_VIEWED_SCHEMA,
            "show_on_timeline": False,
            "is_active": True,
        },
    )


def unregister(apps, schema_editor):  # type: ignore[no-untyped-def]
    EventType = apps.get_model("events", "EventType")
    EventType.objects.filter(key="page.viewed", events__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("events", "0001_customer_events")]

    operations = [migrations.RunPython(register, unregister)]
