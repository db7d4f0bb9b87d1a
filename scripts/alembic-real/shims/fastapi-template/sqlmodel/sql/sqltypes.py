"""AutoString: a VARCHAR without length on PostgreSQL, as sqlmodel's."""
from sqlalchemy import types


class AutoString(types.TypeDecorator):
    impl = types.String
    cache_ok = True
