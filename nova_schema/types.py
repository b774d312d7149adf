"""Column types Nova used, per backend, shared by migrations and models."""
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy import String
from sqlalchemy import Text


def MediumText():
    """Text, but MEDIUMTEXT on MySQL (TEXT there stops at 64 KiB)."""
    return Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def InetSmall():
    """An IP address: String(39), but the native INET on PostgreSQL."""
    return String(length=39).with_variant(postgresql.INET(), 'postgresql')
