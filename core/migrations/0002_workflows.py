from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('commerce', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WorkflowRunRecord',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('workflow_name', fields.CharField(db_index=True, max_length=255)),
                ('state', fields.CharField(default='pending', db_default='pending', max_length=32)),
                ('input', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('output', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('error_traceback', fields.TextField(null=True, unique=False)),
                ('attempts', fields.IntField(default=0, db_default=0)),
                ('owner', fields.CharField(null=True, max_length=255)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('wake_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'workflow_run', 'app': 'commerce', 'indexes': [Index(fields=['state', 'lease_until']), Index(fields=['finished_at'])], 'pk_attr': 'id', 'table_description': 'One execution of a durable workflow, leased by one owner at a time while it runs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WorkflowStepRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('commerce.WorkflowRunRecord', source_field='run_id', db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('name', fields.CharField(max_length=255)),
                ('kind', fields.CharField(default='invoke', db_default='invoke', max_length=16)),
                ('compensates_seq', fields.IntField(null=True)),
                ('state', fields.CharField(max_length=32)),
                ('attempts', fields.IntField(default=0, db_default=0)),
                ('output', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('compensate_input', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('compensations', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('error_traceback', fields.TextField(null=True, unique=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'workflow_step', 'app': 'commerce', 'unique_together': (('run', 'seq'),), 'pk_attr': 'id', 'table_description': 'One step call (``invoke``) or compensation (``compensate``) of a run, numbered by ``seq``.'},
            bases=['Model'],
        ),
    ]
