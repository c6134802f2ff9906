"""The Python API: Database, Table, Column."""

from mapdb.api.database import Database, connect
from mapdb.api.table import Column, Table

__all__ = ["Column", "Database", "Table", "connect"]
