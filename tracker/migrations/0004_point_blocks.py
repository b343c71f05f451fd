"""Metric points move from a row each (MetricPoint) to a row per series and batch (PointBlock).

Stored points are packed into blocks of up to 10,000 points of one series, in
step then time order (NULL, which meant NaN, becomes NaN); going back unpacks
them into rows again. On PostgreSQL the packed data is stored uncompressed
(packed floats do not compress, and trying costs time on every insert).
"""

import math

import django.db.models.deletion
from django.db import migrations, models

POINTS_PER_BLOCK = 10_000


def _blocks_of(rows):
    """(summary_id, first, last, count, steps, timestamps, values) from ordered point rows."""
    current, steps, stamps, values = None, [], [], []
    for summary_id, step, ts, value in rows:
        if summary_id != current or len(steps) == POINTS_PER_BLOCK:
            if steps:
                yield current, steps, stamps, values
            current, steps, stamps, values = summary_id, [], [], []
        steps.append(step)
        stamps.append(ts)
        values.append(math.nan if value is None else value)
    if steps:
        yield current, steps, stamps, values


def points_to_blocks(apps, schema_editor):
    from tracker.points import pack

    Point = apps.get_model("tracker", "MetricPoint")
    Block = apps.get_model("tracker", "PointBlock")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tracker_pointblock ALTER COLUMN data SET STORAGE EXTERNAL")
    rows = (Point.objects.order_by("summary_id", "step", "timestamp")
            .values_list("summary_id", "step", "timestamp", "value").iterator(chunk_size=50_000))
    pending = []
    for summary_id, steps, stamps, values in _blocks_of(rows):
        pending.append(Block(summary_id=summary_id, first_step=steps[0], last_step=steps[-1],
                             count=len(steps), data=pack(steps, stamps, values)))
        if len(pending) == 100:
            Block.objects.bulk_create(pending)
            pending = []
    Block.objects.bulk_create(pending)


def blocks_to_points(apps, schema_editor):
    from tracker.points import unpack

    Point = apps.get_model("tracker", "MetricPoint")
    Block = apps.get_model("tracker", "PointBlock")
    blocks = Block.objects.order_by("summary_id", "first_step", "id").values_list(
        "summary_id", "data").iterator(chunk_size=100)
    if schema_editor.connection.vendor == "postgresql":  # a statement per block, arrays bound
        with schema_editor.connection.cursor() as cursor:
            for summary_id, data in blocks:
                steps, stamps, values = unpack(data)
                cursor.execute(
                    "INSERT INTO tracker_metricpoint (summary_id, step, timestamp, value) "
                    "SELECT %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[]) "
                    "ON CONFLICT DO NOTHING",  # the old key holds one point per step and time
                    [summary_id, list(steps), list(stamps),
                     [None if math.isnan(v) else v for v in values]])
        return
    pending = []
    for summary_id, data in blocks:
        for step, ts, value in zip(*unpack(data), strict=True):
            pending.append(Point(summary_id=summary_id, step=step, timestamp=ts,
                                 value=None if math.isnan(value) else value))
        if len(pending) >= 10_000:
            Point.objects.bulk_create(pending, ignore_conflicts=True)
            pending = []
    Point.objects.bulk_create(pending, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0003_metric_point_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='PointBlock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_step', models.BigIntegerField()),
                ('last_step', models.BigIntegerField()),
                ('count', models.IntegerField()),
                ('data', models.BinaryField()),
                ('summary', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='blocks', to='tracker.metricsummary')),
            ],
            options={
                'indexes': [models.Index(fields=['summary', 'first_step'], name='block_summary_step')],
            },
        ),
        migrations.RunPython(points_to_blocks, blocks_to_points, elidable=False),
        migrations.DeleteModel(
            name='MetricPoint',
        ),
    ]
