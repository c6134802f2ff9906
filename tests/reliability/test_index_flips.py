"""RELIABILITY.md 9 for hash-index files (tests/storage/test_damage.py covers column files
and manifests): single-byte flips in an index file's 4096-byte header and in its
16-byte preamble and directory are refused at open or probe, or found by verify; flips in
the entries are found by verify and never make a probe fail with anything but a mapdb
error. The soak command sweeps every bit of every byte; this test every byte of the
interesting regions with two masks."""

from __future__ import annotations

from collections import Counter

import pytest

from . import flips

KEYS = {"k_hash": [*[*range(0, 3000, 3)][:300], 1, 2, 3001, 3003, -1],
        "s_hash": [f"str{i}" for i in range(0, 1000, 7)] + ["new3", "nope", ""]}
HEADER_FIELDS = [*range(0, 72), *range(100, 4092, 97), *range(4092, 4096)]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return flips.flip_table(tmp_path_factory.mktemp("flips") / "db")


@pytest.mark.parametrize("name", sorted(KEYS))
def test_index_header_flips_are_refused_at_open(db, name):
    path = flips.files(db)[f"index {name}"]
    counts, bad = Counter(), []
    flips.sweep(path, HEADER_FIELDS, flips.MASKS_QUICK, flips.index_probe(db, name, KEYS[name]),
                counts, bad)
    assert bad == []
    assert set(counts) == {"detected at open"}, counts


@pytest.mark.parametrize("name", sorted(KEYS))
def test_index_preamble_and_directory_flips(db, name):
    path = flips.files(db)[f"index {name}"]
    region = flips.index_regions(path)["preamble and directory start"]
    counts, bad = Counter(), []
    probe = flips.index_probe(db, name, KEYS[name])
    flips.sweep(path, region[:16], flips.MASKS_ALL, probe, counts, bad)  # every bit
    flips.sweep(path, region[16:], flips.MASKS_QUICK, probe, counts, bad)
    assert bad == []
    # the 16-byte preamble (bits, 0, entries) is checked when the index is opened; the
    # directory's words are clamped by the probe (it may miss rows) and found by verify
    assert counts["detected at open"] == 16 * 8, counts
    assert set(counts) <= {"detected at open", "detected at probe",
                           "found by verify (the probe went on)"}, counts


@pytest.mark.parametrize("name", sorted(KEYS))
def test_index_entry_flips_are_found_by_verify(db, name):
    path = flips.files(db)[f"index {name}"]
    region = flips.index_regions(path)["entries"]
    counts, bad = Counter(), []
    flips.sweep(path, region[::len(region) // 60], flips.MASKS_QUICK,
                flips.index_probe(db, name, KEYS[name]),
                counts, bad)
    assert bad == []
    assert set(counts) <= {"detected at probe", "found by verify (the probe went on)"}


def test_entry_naming_a_row_past_the_segment_is_refused_at_probe(db):
    """A flipped high bit of a row number: the probe must not index the column with it."""
    import numpy as np
    name = "k_hash"
    path = flips.files(db)[f"index {name}"]
    with open(path, "rb") as f:
        data = f.read()
    bits, m = np.frombuffer(data, np.uint32, 1, 4096)[0], np.frombuffer(data, np.uint64, 1,
                                                                         4104)[0]
    first_row = 4096 + 16 + 4 * ((1 << int(bits)) + 1) + 4 * int(m)
    counts, bad = Counter(), []
    every_key = list(range(0, 3030, 3))  # both segments
    flips.sweep(path, [first_row + 3], [0x80], flips.index_probe(db, name, every_key),
                counts, bad)
    assert bad == [] and counts == {"detected at probe": 1}
