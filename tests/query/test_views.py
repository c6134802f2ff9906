"""Stored views and information_schema as the binder resolves them (query.resolve): a
view is bound in place at every use, views read views, a view whose tables are gone or
that reaches itself fails naming the view, and plans over views are never reused after
the view changes."""

from __future__ import annotations

import pytest

import mapdb
from mapdb.errors import QueryError


@pytest.fixture
def db(tmp_path):
    db = mapdb.connect(tmp_path / "views.mapdb")
    db.create_table("t", {"x": [1, 2, 3], "s": ["a", "b", "c"]})
    return db


def test_a_view_is_bound_by_name(db):
    db._store.create_view("v", "SELECT x * 10 AS y FROM t WHERE x > 1")
    db._store.create_view("w", "SELECT y + 1 AS z FROM v")
    assert db.sql("SELECT * FROM v ORDER BY y").fetchall() == [(20,), (30,)]
    assert db.sql("SELECT z FROM W ORDER BY 1").fetchall() == [(21,), (31,)]
    assert db.sql("SELECT a.y, t.s FROM v AS a JOIN t ON a.y = t.x * 10 ORDER BY 1"
                  ).fetchall() == [(20, "b"), (30, "c")]
    assert db.sql("SELECT * FROM main.t WHERE x = 1").fetchall() == [(1, "a")]


def test_a_replaced_view_is_read_afresh(db):
    db._store.create_view("v", "SELECT x FROM t WHERE x > 1")
    q = "SELECT count(*) FROM v"
    assert db.sql(q).fetchall() == [(2,)]
    assert db.sql(q).fetchall() == [(2,)]
    db._store.create_view("v", "SELECT x FROM t", replace=True)
    assert db.sql(q).fetchall() == [(3,)]
    db._store.create_view("p", "SELECT x FROM t")
    point = "SELECT x FROM p WHERE x = 2"
    assert db.sql(point).fetchall() == [(2,)]
    db._store.create_view("p", "SELECT x + 100 AS x FROM t", replace=True)
    assert db.sql(point).fetchall() == []


def test_broken_and_cyclic_views_fail_naming_the_view(db):
    db._store.create_view("bad", "SELECT * FROM gone")
    with pytest.raises(QueryError, match=r'view "bad" cannot be read: table "gone" not '
                                         r"found \(view's SQL: line 1, column 15\)"):
        db.sql("SELECT * FROM bad")
    db._store.create_view("loop1", "SELECT * FROM loop2")
    db._store.create_view("loop2", "SELECT * FROM loop1")
    with pytest.raises(QueryError, match="reads itself"):
        db.sql("SELECT * FROM loop1")
    with pytest.raises(QueryError, match="schemas: main, information_schema"):
        db.sql("SELECT * FROM other.t")


def test_information_schema(db):
    db._store.create_view("v", "SELECT x * 2 AS y FROM t")
    assert db.sql("SELECT table_catalog, table_schema, table_name, table_type FROM "
                  "information_schema.tables").fetchall() == [
        ("views", "main", "t", "BASE TABLE"), ("views", "main", "v", "VIEW")]
    assert db.sql("SELECT table_name, column_name, ordinal_position, data_type, is_nullable "
                  "FROM information_schema.columns ORDER BY table_name, ordinal_position"
                  ).fetchall() == [("t", "x", 1, "BIGINT", "YES"),
                                   ("t", "s", 2, "VARCHAR", "YES"),
                                   ("v", "y", 1, "BIGINT", "YES")]
    db.create_table("u", {"k": [1]})
    assert db.sql("SELECT count(*) FROM information_schema.tables").fetchall() == [(3,)]
