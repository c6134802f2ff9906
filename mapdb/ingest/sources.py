"""Turning what the user typed (files, globs, directories) into a list of typed sources.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for name in ["b.csv", "a.tsv.gz", "c.parquet", ".hidden.csv", "notes.txt"]:
...     _ = (d / name).write_bytes(b"x")
>>> for s in expand_sources([d], None):
...     print(s.path.name, s.format, repr(s.delimiter), s.compression)
a.tsv.gz csv None gzip
b.csv csv None None
c.parquet parquet None None
>>> expand_sources([d / "notes.txt"], None)
Traceback (most recent call last):
...
mapdb.errors.IngestError: .../notes.txt: unknown file extension '.txt' (known: ...); ...
>>> [(s.format, s.delimiter) for s in expand_sources([d / "notes.txt"], "tsv")]
[('csv', '\\t')]
>>> import shutil; shutil.rmtree(d)
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import IngestError

__all__ = ["FORMATS", "KNOWN_EXTENSIONS", "Source", "expand_sources"]

#: The formats a :class:`Source` can have.
FORMATS = ("csv", "parquet", "arrow", "ndjson")

# Extension -> (format, delimiter). TSV is CSV with another delimiter, so the reader needs
# one code path and the delimiter travels in the Source; None: sniffed from the data (as
# DuckDB does whatever the extension), a character: forced (``--format tsv``).
_EXTENSIONS: dict[str, tuple[str, str | None]] = {
    ".csv": ("csv", None),
    ".tsv": ("csv", None),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
    ".arrow": ("arrow", None),
    ".feather": ("arrow", None),
    ".ipc": ("arrow", None),
    ".arrows": ("arrow", None),
    ".json": ("ndjson", None),
    ".jsonl": ("ndjson", None),
    ".ndjson": ("ndjson", None),
}
# Whole-file stream compression, decoded on the fly (pyarrow.CompressedInputStream). Only
# the text formats are compressed this way; Parquet and Arrow compress inside the file.
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_COMPRESSIBLE = ("csv", "ndjson")

#: Every extension recognised without an explicit format.
KNOWN_EXTENSIONS = tuple(_EXTENSIONS) + tuple(
    f"{ext}{comp}" for ext, (fmt, _) in _EXTENSIONS.items() if fmt in _COMPRESSIBLE
    for comp in _COMPRESSIONS
)

# Explicit format names (e.g. ``--format tsv``) and their aliases.
_FORMAT_ALIASES: dict[str, tuple[str, str | None]] = {
    "csv": ("csv", None),
    "tsv": ("csv", "\t"),
    "parquet": ("parquet", None),
    "pq": ("parquet", None),
    "arrow": ("arrow", None),
    "ipc": ("arrow", None),
    "feather": ("arrow", None),
    "ndjson": ("ndjson", None),
    "jsonl": ("ndjson", None),
    "json": ("ndjson", None),
}

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Source:
    """One input file and how to read it.

    ``delimiter`` is for ``csv`` only: ``None`` to sniff it from the data, else the one
    character to split on (``--format tsv`` gives ``"\\t"``); ``compression`` is the
    pyarrow codec name of a whole-file compression suffix (``"gzip"``, ``"bz2"``,
    ``"zstd"``) for the text formats, else ``None``.

    >>> Source(Path("x.csv"), "csv")
    Source(path=PosixPath('x.csv'), format='csv', delimiter=None, compression=None)
    """

    path: Path
    format: str
    delimiter: str | None = None
    compression: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; expected one of {FORMATS}")
        if self.format != "csv" and self.delimiter is not None:
            raise ValueError("a delimiter is for csv sources only")


def expand_sources(sources: list[str | os.PathLike[str]], fmt: str | None) -> list[Source]:
    """Expand files, glob patterns and directories into sources, in a deterministic order.

    * a file is taken as is (any extension when ``fmt`` is given);
    * a glob pattern (``*``, ``?``, ``[``; ``**`` recurses) expands to its matches, sorted;
    * a directory expands to every file with a known extension below it, recursively,
      sorted by path; names starting with ``.`` (files and directories) are skipped.

    The format comes from the extension unless ``fmt`` is given, in which case it applies
    to every source. A file named twice (say ``a.csv`` and ``*.csv``) is kept once, at its
    first position. A missing path, a pattern without matches, an empty directory or an
    unknown extension raises :class:`IngestError`.
    """
    forced = _parse_format(fmt) if fmt is not None else None
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]  # a lone path is a common slip; a str would iterate by char
    if not sources:
        raise IngestError("no input files given")
    out: list[Source] = []
    seen: set[Path] = set()
    for raw in sources:
        for path in _expand_one(raw):
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            out.append(_make_source(path, forced))
    return out


def _expand_one(raw: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(raw)
    path = Path(text).expanduser()
    if path.is_dir():
        return _walk_dir(path)
    if path.exists():
        return [path]
    # A literal name wins over its reading as a pattern (``data[1].csv`` may exist).
    if _GLOB_CHARS & set(text):
        matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
        files: list[Path] = []
        for m in matches:
            p = Path(m)
            files.extend(_walk_dir(p) if p.is_dir() else [p])
        if not files:
            raise IngestError("glob pattern matched no files", file=text)
        return files
    raise IngestError("no such file or directory", file=text)


def _walk_dir(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune hidden trees
        for name in filenames:
            if not name.startswith(".") and _split_suffix(name) is not None:
                found.append(Path(dirpath) / name)
    if not found:
        raise IngestError(
            f"directory contains no files with a known extension ({', '.join(_EXTENSIONS)})",
            file=str(root),
        )
    # Sort by the path below the root, component-wise, so "a/z.csv" < "b.csv" < "b/a.csv".
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _split_suffix(name: str) -> tuple[str, str | None, str | None] | None:
    """(format, delimiter, compression) for a file name, or None when not recognised."""
    lower = name.lower()
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if lower.endswith(suffix):
            compression, lower = codec, lower[: -len(suffix)]
            break
    ext = os.path.splitext(lower)[1]
    if ext not in _EXTENSIONS:
        return None
    fmt, delimiter = _EXTENSIONS[ext]
    if compression is not None and fmt not in _COMPRESSIBLE:
        return None
    return fmt, delimiter, compression


def _parse_format(fmt: str) -> tuple[str, str | None]:
    key = fmt.lower().lstrip(".")
    if key not in _FORMAT_ALIASES:
        raise IngestError(f"unknown format {fmt!r}; known: {', '.join(_FORMAT_ALIASES)}")
    return _FORMAT_ALIASES[key]


def _make_source(path: Path, forced: tuple[str, str | None] | None) -> Source:
    detected = _split_suffix(path.name)
    if forced is not None:
        fmt, delimiter = forced
        # Keep decoding a compressed file even when the format is forced.
        compression = None
        for suffix, codec in _COMPRESSIONS.items():
            if path.name.lower().endswith(suffix) and fmt in _COMPRESSIBLE:
                compression = codec
        return Source(path, fmt, delimiter, compression)
    if detected is None:
        ext = path.suffix
        if ext.lower() in _COMPRESSIONS:
            ext = Path(path.stem).suffix + ext
        ext = ext or "(none)"
        raise IngestError(
            f"unknown file extension {ext!r} (known: {', '.join(KNOWN_EXTENSIONS)}); "
            "pass a format explicitly",
            file=str(path),
        )
    fmt, delimiter, compression = detected
    return Source(path, fmt, delimiter, compression)
