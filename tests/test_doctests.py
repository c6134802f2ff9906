"""Docstring examples are part of the documentation: they must run."""

import doctest
import importlib
import pkgutil

import pytest

import mapdb

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(mapdb.__path__, "mapdb.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
