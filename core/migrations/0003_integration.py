from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from core.models.base import new_sync_id
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

# Orders are found by the ERP's order id, ``metadata.external_id`` (ERP -> order updates): an expression
# index per dialect, matching the lookup's expression exactly (erpcommerce_erp.order_updates).
ORDER_EXTERNAL_ID_INDEX = {
    "postgres": """CREATE INDEX IF NOT EXISTS "order_metadata_external_id" ON "order" ((metadata->>'external_id'))""",
    "sqlite": """CREATE INDEX IF NOT EXISTS "order_metadata_external_id" ON "order" """
    """(CAST(json_extract(metadata, '$.external_id') AS TEXT))""",
}


async def index_order_external_id(apps, schema_editor):
    sql = ORDER_EXTERNAL_ID_INDEX.get(schema_editor.client.capabilities.dialect)
    if sql is not None:
        await schema_editor.client.execute_script(sql)


async def drop_order_external_id_index(apps, schema_editor):
    await schema_editor.client.execute_script('DROP INDEX IF EXISTS "order_metadata_external_id"')


class Migration(migrations.Migration):
    dependencies = [('commerce', '0002_workflows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SyncCursor',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('value', fields.TextField(null=True, unique=False)),
                ('sync_run_id', fields.CharField(null=True, max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'sync_cursor', 'app': 'commerce', 'pk_attr': 'name', 'table_description': 'Where the last successful sync of one stream stopped (``products:prices``), opaque to core.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncRun',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_sync_id, unique=True, db_index=True, max_length=64)),
                ('name', fields.CharField(max_length=64)),
                ('run_id', fields.CharField(unique=True, max_length=255)),
                ('trigger', fields.CharField(default='manual', db_default='manual', max_length=32)),
                ('full', fields.BooleanField(default=False, db_default=False)),
                ('dry_run', fields.BooleanField(default=False, db_default=False)),
                ('state', fields.CharField(default='running', db_default='running', max_length=16)),
                ('pages', fields.IntField(default=0, db_default=0)),
                ('seen', fields.IntField(default=0, db_default=0)),
                ('expected', fields.IntField(null=True)),
                ('created', fields.IntField(default=0, db_default=0)),
                ('updated', fields.IntField(default=0, db_default=0)),
                ('unchanged', fields.IntField(default=0, db_default=0)),
                ('archived', fields.IntField(default=0, db_default=0)),
                ('failed', fields.IntField(default=0, db_default=0)),
                ('details', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('cursors_before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('cursors_after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sync_run', 'app': 'commerce', 'indexes': [Index(fields=['name', 'started_at'])], 'pk_attr': 'id', 'table_description': 'One run of a sync (``products``): what it did, how far it got, the cursors it started from and reached.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEvent',
            fields=[
                ('event_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('source', fields.CharField(max_length=64)),
                ('kind', fields.CharField(max_length=64)),
                ('subject', fields.CharField(null=True, max_length=255)),
                ('run_id', fields.CharField(null=True, max_length=255)),
                ('deliveries', fields.IntField(default=1, db_default=1)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_received_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'webhook_event', 'app': 'commerce', 'indexes': [Index(fields=['source', 'received_at'])], 'pk_attr': 'event_id', 'table_description': 'An accepted inbound webhook event, by its event id: the replay guard and the delivery record.'},
            bases=['Model'],
        ),
        ops.RunPython(index_order_external_id, drop_order_external_id_index),
    ]
