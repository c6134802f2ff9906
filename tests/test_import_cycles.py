"""No import cycles between the modules of a package (issue 16): lint-imports keeps the
layers one-way; this keeps the modules inside a layer one-way too, counting the imports
hidden inside functions (a cycle broken by a lazy import is still a cycle) and ignoring
``if TYPE_CHECKING:`` blocks (annotations only)."""

from __future__ import annotations

import ast
import pathlib
import sys

import mapdb

ROOT = pathlib.Path(mapdb.__file__).parent


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(path: pathlib.Path, mods: dict) -> set[str]:
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and \
                node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("mapdb"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                found.add(full if full in mods else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in mods)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(ast.parse(path.read_text()))
    return found


def cycles() -> list[list[str]]:
    """Every cycle among the modules of one package (as the list of its modules)."""
    mods = _modules()
    edges = {m: {n for n in _imports(p, mods) if n in mods} for m, p in mods.items()}
    pkg = lambda m: m.rsplit(".", 1)[0]  # noqa: E731
    out, seen = [], set()

    def walk(start, node, path):
        for n in edges[node]:
            if pkg(n) != pkg(start) or n == pkg(start):
                continue
            if n == start and frozenset(path) not in seen:
                seen.add(frozenset(path))
                out.append(path)
            elif n not in path and len(path) < 8:
                walk(start, n, [*path, n])
    for m in sorted(mods):
        walk(m, m, [m])
    return out


def test_no_import_cycles_inside_a_package():
    assert cycles() == []


def test_the_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check can fail: two modules of a package that import each other lazily."""
    pkg = tmp_path / "mapdb" / "fake"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from mapdb.fake import b\n")
    (pkg / "b.py").write_text("from mapdb.fake.a import f\n")
    (tmp_path / "mapdb" / "__init__.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path / "mapdb")
    assert [sorted(c) for c in cycles()] == [["mapdb.fake.a", "mapdb.fake.b"]]
