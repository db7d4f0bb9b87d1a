"""Alembic environment of ArcoIrisPOS: four schemas (core, acct, inv, pos),
one transaction per revision.

`sqlbundle import alembic` does not run this file: what is configured here
(include_schemas, the version table, the URL) does not reach the import,
which is why the revisions create their schemas themselves.
"""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

SCHEMAS = ("core", "acct", "inv", "pos")
target_metadata = None  # no models in this example: revisions are written by hand

url = (context.get_x_argument(as_dictionary=True).get("url")
       or os.environ.get("SB_ALEMBIC_URL")
       or "postgresql+psycopg2://")


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name in SCHEMAS
    return True


def run_migrations_offline():
    context.configure(url=url, literal_binds=True, include_schemas=True,
                      include_name=include_name,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, include_schemas=True,
                          include_name=include_name,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
