"""The env.py the real-project harness puts in place of a project's own:
Alembic online against $SB_REAL_URL, no models, one transaction per
revision (so that a failing downgrade stops at that revision, as far as
Alembic's own downgrade goes), and a SQLAlchemy 2.0 style ("future")
engine, as the projects' SQLAlchemy 2.0 and the import run them on
Debian's 1.4 (`op.get_bind().commit()`). sqlbundle import never runs
env.py, so this file only drives the reference run of Alembic."""
import os

from alembic import context
from sqlalchemy import create_engine, pool


def run_migrations_online():
    engine = create_engine(os.environ["SB_REAL_URL"], poolclass=pool.NullPool,
                           future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("alembic-real: the reference run is online only")
run_migrations_online()
