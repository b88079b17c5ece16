from django.db import migrations


def create_default_collection(apps, schema_editor):
    Collection = apps.get_model("artifacts", "Collection")
    Collection.objects.get_or_create(
        name="default", defaults={"description": "The collection every import uses unless told."}
    )


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0001_initial")]

    operations = [
        migrations.RunPython(create_default_collection, migrations.RunPython.noop),
    ]
