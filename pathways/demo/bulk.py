"""Fast loading into PostgreSQL for the demo generator.

Large tables are filled with COPY and explicit ids (so rows can reference each other
before they exist), and their secondary indexes and foreign keys are set aside during
the load and rebuilt afterwards: one sort per index and one join per foreign key instead
of millions of row-by-row updates and checks. Everything runs inside the caller's
transaction, so a failed load leaves the schema and the data as they were.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

APPS = ("tsn", "professionals", "patients", "pathways")


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def next_id(model: type[models.Model]) -> int:
    """The first free id of `model`'s table (ids above the highest one are ours to use)."""
    return (model.objects.aggregate(highest=Max("id"))["highest"] or 0) + 1


def sync_sequence(model: type[models.Model]) -> None:
    """Move the id sequence past the explicit ids COPY wrote."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(statement)


def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """COPY rows (values in the order of `fields`, model field names) into model's table."""
    columns = ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
    )
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {_table(model)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    if "id" in fields:
        sync_sequence(model)
    return count


@dataclass(frozen=True)
class SetAside:
    """Definitions of the dropped foreign keys and indexes, to recreate them."""

    tables: list[str]
    foreign_keys: list[tuple[str, str, str]]
    indexes: list[tuple[str, str]]


def drop_indexes(*tables: str) -> SetAside:
    """Drop the tables' foreign keys and non-unique indexes, and switch off their triggers.

    The transaction guards all of it. With the triggers off, the demo data has no change
    history (pghistory) of its own: the history starts with the first real change.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
            ORDER BY conrelid::regclass::text, conname
            """,
            [list(tables)],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary
            ORDER BY i.indexrelid::regclass::text
            """,
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for table in tables:
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} DISABLE TRIGGER USER")
    return SetAside(list(tables), foreign_keys, indexes)


def restore_indexes(set_aside: SetAside) -> None:
    """Rebuild the indexes, re-add (and so check) the foreign keys, switch triggers back on."""
    with connection.cursor() as cursor:
        for table in set_aside.tables:
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} ENABLE TRIGGER USER")
        for _name, definition in set_aside.indexes:
            cursor.execute(definition)
        for table, name, definition in set_aside.foreign_keys:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )


def app_models() -> list[type[models.Model]]:
    """Every table of the platform's apps except the accounts (users, their groups)."""
    user_model = apps.get_model("tsn", "User")
    keep = {user_model, user_model.groups.through, user_model.user_permissions.through}
    return [
        model
        for label in APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model not in keep
    ]


def truncate_app_tables() -> None:
    """Empty the platform's tables (not the accounts); row triggers do not fire on TRUNCATE."""
    tables = ", ".join(_table(model) for model in app_models())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def analyze() -> None:
    with connection.cursor() as cursor:
        for model in app_models():
            cursor.execute(f"ANALYZE {_table(model)}")
