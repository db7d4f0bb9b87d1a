"""Stand-in for alembic-postgresql-enum (not in Debian): its
op.sync_enum_values, done the way the library does it: the old type
renamed, the new one created, each column cast through text (renamed
values mapped, a column default dropped and set again), the old type
dropped."""
import enum
from dataclasses import dataclass
from typing import Any, Optional

from alembic.operations import MigrateOperation, Operations
from sqlalchemy import text


class ColumnType(enum.Enum):
    COMMON = "common"
    ARRAY = "array"


@dataclass
class TableReference:
    table_name: str
    column_name: str
    table_schema: Optional[str] = None
    column_type: ColumnType = ColumnType.COMMON
    existing_server_default: Any = None


def _q(name):
    return '"' + name.replace('"', '""') + '"'


def _lit(value):
    return "'" + value.replace("'", "''") + "'"


def sync_enum_values(operations, enum_schema, enum_name, new_values,
                     affected_columns, enum_values_to_rename=()):
    typ = f"{_q(enum_schema)}.{_q(enum_name)}"
    old = f"{enum_name}_old"
    operations.execute(f"ALTER TYPE {typ} RENAME TO {_q(old)}")
    operations.execute(f"CREATE TYPE {typ} AS ENUM("
                       + ", ".join(_lit(v) for v in new_values) + ")")
    for ref in affected_columns:
        if isinstance(ref, tuple):  # the older (table, column) form
            ref = TableReference(ref[0], ref[1], table_schema=enum_schema)
        table = _q(ref.table_name)
        if ref.table_schema:
            table = f"{_q(ref.table_schema)}.{table}"
        col = _q(ref.column_name)
        default = ref.existing_server_default
        if default is None:  # as the library: the default, from the catalog
            default = operations.get_bind().execute(text(
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
                "JOIN pg_attribute a ON a.attrelid = d.adrelid "
                "AND a.attnum = d.adnum "
                "WHERE d.adrelid = CAST(:t AS regclass) AND a.attname = :c"),
                {"t": table, "c": ref.column_name}).scalar()
            if default is not None:
                for o in (f"{enum_schema}.{old}", _q(enum_schema) + "." + _q(old),
                          old, _q(old)):
                    default = default.replace("::" + o, "::" + typ)
        if default is not None:
            operations.execute(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT")
        expr = f"{col}::text"
        if ref.column_type == ColumnType.ARRAY:
            expr = f"{col}::text[]"
            for a, b in enum_values_to_rename:
                expr = f"array_replace({expr}, {_lit(a)}, {_lit(b)})"
            using = f"{expr}::{typ}[]"
            newtype = f"{typ}[]"
        else:
            if enum_values_to_rename:
                expr = "CASE " + " ".join(
                    f"WHEN {col}::text = {_lit(a)} THEN {_lit(b)}"
                    for a, b in enum_values_to_rename) + f" ELSE {col}::text END"
            using = f"({expr})::{typ}"
            newtype = typ
        operations.execute(f"ALTER TABLE {table} ALTER COLUMN {col} "
                           f"TYPE {newtype} USING {using}")
        if default is not None:
            operations.execute(f"ALTER TABLE {table} ALTER COLUMN {col} "
                               f"SET DEFAULT {default}")
    operations.execute(f"DROP TYPE {_q(enum_schema)}.{_q(old)}")


@Operations.register_operation("sync_enum_values")
class SyncEnumValuesOp(MigrateOperation):
    def __init__(self, *args, **kw):
        self.args, self.kw = args, kw

    @classmethod
    def sync_enum_values(cls, operations, *args, **kw):
        return operations.invoke(cls(*args, **kw))


@Operations.implementation_for(SyncEnumValuesOp)
def _sync_enum_values(operations, operation):
    sync_enum_values(operations, *operation.args, **operation.kw)
