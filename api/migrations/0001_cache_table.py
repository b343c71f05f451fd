"""The table of the database cache (settings.CACHES), where the failed token checks are
counted (api/throttle.py) unless CACHE_URL names Redis.

Made here rather than by `manage.py createcachetable`, so that `migrate`, the one command
every installation and upgrade runs, creates it; and made whatever CACHES says, so that
leaving Redis for the database later needs nothing more.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "targetline_cache"


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_table, drop_table)]
