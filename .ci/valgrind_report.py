"""Summarise a valgrind memcheck XML report; exit 1 if any error or definite leak happened
in mapdb's extension (mapdb/_ext/_core*.so, generated from ext/): the innermost frame
outside valgrind's allocator replacements is ours. Errors inside CPython, numpy or pyarrow
that merely have our function further down the stack (CPython parsing an int we asked it
to parse, say) are theirs, and are only counted.

    python .ci/valgrind_report.py build/valgrind.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter


def ours(frame: ET.Element) -> bool:
    obj = frame.findtext("obj") or ""
    src = (frame.findtext("dir") or "") + "/" + (frame.findtext("file") or "")
    return "mapdb/_ext/_core" in obj or "/ext/" in src or src.endswith(("_core.c", ".pxi"))


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    kinds, mine = Counter(), []
    for err in root.iter("error"):
        kind = err.findtext("kind") or "?"
        kinds[kind] += 1
        frames = [f for f in err.findall("./stack/frame")
                  if "vgpreload" not in (f.findtext("obj") or "")]
        if frames and ours(frames[0]):
            what = err.findtext("what") or err.findtext("xwhat/text") or kind
            where = next((f"{f.findtext('fn')} ({f.findtext('file')}:{f.findtext('line')})"
                          for f in frames if ours(f)), "?")
            mine.append(f"{kind}: {what} at {where}")
    print(f"valgrind: {sum(kinds.values())} error record(s) in all "
          f"({', '.join(f'{k} {n}' for k, n in kinds.most_common()) or 'none'}); "
          f"{len(mine)} with a frame in mapdb's extension")
    for m in mine[:50]:
        print("  " + m)
    return 1 if mine else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
