"""db.Integer, db.Text...: Flask-SQLAlchemy re-exports SQLAlchemy's types."""
import sqlalchemy as db  # noqa: F401
