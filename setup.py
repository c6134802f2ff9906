"""Builds the Cython extension mapdb._ext._core from ext/.

MAPDB_BUILD selects the flavour:
  release (default)  -O3, Cython's fast directives (no bounds/wraparound checks)
  debug              -O0 -g, bounds checks on, Cython line tracing off
  asan               debug + AddressSanitizer and UndefinedBehaviorSanitizer
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

BUILD = os.environ.get("MAPDB_BUILD", "release")
if BUILD not in ("release", "debug", "asan"):
    raise SystemExit(f"MAPDB_BUILD must be release, debug or asan, not {BUILD!r}")

fast = BUILD == "release"
directives = {
    "language_level": 3,
    "boundscheck": not fast,
    "wraparound": not fast,
    "initializedcheck": not fast,
    "cdivision": fast,
    "embedsignature": True,
}
compile_args = ["-O3", "-fno-strict-aliasing"] if fast else ["-O0", "-g3", "-fno-omit-frame-pointer"]
link_args: list[str] = []
if BUILD == "asan":
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    compile_args += san
    link_args += san

ext = Extension(
    "mapdb._ext._core",
    ["ext/_core.pyx"],
    include_dirs=["ext"],
    extra_compile_args=compile_args + ["-D_GNU_SOURCE"],
    extra_link_args=link_args,
    depends=[os.path.join("ext", f) for f in os.listdir("ext")],
)

setup(ext_modules=cythonize([ext], compiler_directives=directives, include_path=["ext"]))
