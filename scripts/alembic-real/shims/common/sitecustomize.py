"""Names of SQLAlchemy 2.0 that real revisions use, for the SQLAlchemy
1.4 of Debian, each rendering on PostgreSQL as 2.0 renders it. Loaded at
interpreter start (PYTHONPATH) by Alembic and the import alike; a name
SQLAlchemy already has is left alone."""
try:
    import sqlalchemy
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.types import UserDefinedType

    class CITEXT(UserDefinedType):
        cache_ok = True

        def get_col_spec(self, **kw):
            return "CITEXT"

    if not hasattr(postgresql, "CITEXT"):
        postgresql.CITEXT = CITEXT
    if not hasattr(sqlalchemy, "UUID"):
        sqlalchemy.UUID = postgresql.UUID
    if not hasattr(sqlalchemy, "Uuid"):
        sqlalchemy.Uuid = postgresql.UUID
except ImportError:
    pass
