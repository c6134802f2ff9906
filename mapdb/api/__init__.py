"""The Python API: Database, Table, Column."""

from mapdb.api import filetables  # noqa: F401  (CSV and JSON readers for FROM 'x.csv')
from mapdb.api.database import Database, connect, sql
from mapdb.api.table import Column, Table

__all__ = ["Column", "Database", "Table", "connect", "sql"]
