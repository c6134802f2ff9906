"""What a manifest records of a table's indexes (the files and kernels are in index.py).

Two kinds:

- ``hash``: one file per segment, ``indexes/x<index id>-s<segment id>.hash``, mapping the
  hash of every non-null value to the rows holding it (``unique``: the writer refused
  duplicates);
- ``sorted``: the column is non-decreasing across the whole table (segments in manifest
  order) with no nulls; no files, ranges binary-search the mapped column itself.
  ``declared``: asked for by the user (False: detected by the writer).

>>> m = IndexMeta(7, "o_orderkey_hash", 1, "hash", True, True, {3: FileRef("x7-s3.hash", 80, 5)})
>>> IndexMeta.from_json(m.to_json()) == m
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapdb.storage.columnfile import FileRef

KINDS = ("hash", "sorted")


@dataclass(frozen=True)
class IndexMeta:
    id: int
    name: str
    column: int  # column id
    kind: str  # "hash" | "sorted"
    unique: bool = False
    declared: bool = True
    files: dict[int, FileRef] = field(default_factory=dict)  # segment id -> file (hash)

    def file_name(self, segment_id: int) -> str:
        return f"x{self.id}-s{segment_id:012d}.{self.kind}"

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "column": self.column, "kind": self.kind,
                "unique": self.unique, "declared": self.declared,
                "files": {str(k): v.to_json() for k, v in self.files.items()}}

    @classmethod
    def from_json(cls, j: dict) -> IndexMeta:
        if j["kind"] not in KINDS:
            raise ValueError(f"unknown index kind {j['kind']!r}")
        return cls(int(j["id"]), str(j["name"]), int(j["column"]), str(j["kind"]),
                   bool(j["unique"]), bool(j["declared"]),
                   {int(k): FileRef.from_json(v) for k, v in j["files"].items()})
