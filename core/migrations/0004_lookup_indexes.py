from tortoise import migrations
from tortoise.migrations import operations as ops

# Foreign keys the hot paths look rows up by. Neither PostgreSQL nor SQLite indexes a foreign key
# column by itself, so loading a cart's line items scanned every line item (issue 7's benchmark:
# each add-to-cart read slowed down as line items accumulated), and a product listing scanned every
# variant and image. Plain indexes, the same on both dialects; the models are unchanged.
LOOKUP_INDEXES = (
    ("line_item", "cart_id"),
    ("payment_session", "collection_id"),
    ("order_item", "order_id"),
    ("cart", "customer_id"),
    ("product_variant", "product_id"),
    ("product_image", "product_id"),
    ("product_sales_channel", "saleschannel_id"),
    ("country", "region_id"),
)


def _index_name(table: str, column: str) -> str:
    return f"idx_{table}_{column}"


async def create_lookup_indexes(apps, schema_editor):
    script = "; ".join(
        f'CREATE INDEX IF NOT EXISTS "{_index_name(table, column)}" ON "{table}" ("{column}")'
        for table, column in LOOKUP_INDEXES
    )
    await schema_editor.client.execute_script(script)


async def drop_lookup_indexes(apps, schema_editor):
    script = "; ".join(f'DROP INDEX IF EXISTS "{_index_name(table, column)}"' for table, column in LOOKUP_INDEXES)
    await schema_editor.client.execute_script(script)


class Migration(migrations.Migration):
    dependencies = [('commerce', '0003_integration')]

    initial = False

    operations = [
        ops.RunPython(create_lookup_indexes, drop_lookup_indexes),
    ]
