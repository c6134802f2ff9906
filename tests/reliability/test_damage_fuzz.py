"""Issue 15: a damaged file may give a MapdbError, never kill the reader, raise anything
else, hand out an invalid Arrow array or (in metadata) change an answer; `mapdb verify`
finds every damage. The fuzzer (reliability/damage.py) at 100 trials here, 2,000 with
-m slow, and its classifier, shown to fail on what breaks those promises."""

from __future__ import annotations

import os
import sys

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import CorruptionError

from . import damage

PRISTINE = {"q": {"digest": "d0", "rows": 3, "columns": ["a", "b"], "names": ["x", "y"]}}
ZONES = {"kind": "zones", "file": "t_t/segments/s000000000012/c1.zones", "role": "zones",
         "damage": "flip data", "offset": 4100, "mask": 1}
DATA = {**ZONES, "kind": "data int64", "file": "t_t/segments/s000000000012/c1.data",
        "role": "data"}
FOUND = {"verify": "found", "problems": ["damaged"], "same_manifest": False}


def _classify(trial, record, status=0, verify=FOUND):
    return damage.classify(trial, status, None if record is None else {"q": record},
                           PRISTINE, verify)


def test_classifier_fails_what_breaks_a_promise():
    raw = _classify(DATA, {"kind": "raw", "cls": "OverflowError", "msg": "too big"})
    assert raw["outcome"] == "RAW_EXCEPTION" and raw["failures"] == ["RAW_EXCEPTION"]
    invalid = _classify(DATA, {"kind": "invalid", "cls": "ArrowInvalid", "msg": "offsets"})
    assert invalid["outcome"] == "INVALID_ARROW" and invalid["failures"] == ["INVALID_ARROW"]
    assert _classify(DATA, None, status=-11)["failures"] == ["DEATH"]
    assert _classify(DATA, None, status="timeout")["failures"] == ["HANG"]
    wrong = {"kind": "ok", "digest": "d1", "rows": 3, "columns": ["a", "c"],
             "names": ["x", "y"]}
    zones = _classify(ZONES, wrong)
    assert zones["outcome"] == "WRONG" and zones["failures"] == ["WRONG"]
    assert "column(s) y differ" in zones["details"][0]
    data = _classify(DATA, wrong)  # a changed value: allowed (verify finds it)
    assert data["outcome"] == "WRONG" and data["failures"] == []
    assert _classify({**DATA, "damage": "truncate", "length": 10}, wrong)["failures"] == [
        "WRONG"]
    assert _classify({**DATA, "offset": 12}, wrong)["failures"] == ["WRONG"]  # header
    missed = _classify(DATA, {"kind": "ok", **PRISTINE["q"]},
                       verify={"verify": "nothing", "problems": [], "same_manifest": False})
    assert missed["outcome"] == "OK" and missed["failures"] == ["verify missed"]


def test_classifier_passes_clean_errors():
    err = _classify(DATA, {"kind": "mapdb", "cls": "CorruptionError",
                           "msg": f"/x/{DATA['file']}: checksum mismatch"})
    assert err["outcome"] == "MAPDB_ERROR" and err["failures"] == []
    assert err["errors"] == {"CorruptionError": 1}
    other = _classify(DATA, {"kind": "mapdb", "cls": "CorruptionError", "msg": "damaged"})
    assert other["errors"] == {"CorruptionError (not naming the file)": 1}
    manifest = {**DATA, "kind": "manifest", "role": "manifest", "damage": "flip"}
    same = {"verify": "nothing", "problems": [], "same_manifest": True}
    assert _classify(manifest, {"kind": "ok", **PRISTINE["q"]}, verify=same)["failures"] == []


def test_results_are_checked_as_the_child_checks_them():
    """_run_one, what the child runs per query, turns what a query hands out into the
    records the classifier judges."""
    valid = pa.array([1, None, 3])
    lying = pa.Array.from_buffers(pa.int64(), 3, valid.buffers(), null_count=2)  # 1 in fact
    def strings(offsets, data):  # passes the cheap validation that from_buffers runs
        return pa.Array.from_buffers(pa.large_string(), len(offsets) - 1, [
            None, pa.array(offsets, pa.int64()).buffers()[1], pa.py_buffer(data)])

    backwards, not_utf8 = strings([0, 3, 2], b"abc"), strings([0, 1, 2], b"\xff\xfe")
    for bad in (lying, backwards, not_utf8, pa.table({"s": backwards}),
                pa.chunked_array([lying])):
        assert damage._run_one(lambda db, bad=bad: bad, None, True)["kind"] == "invalid"

    def corrupt(db):
        raise CorruptionError("/x/c1.data: damaged")

    assert damage._run_one(corrupt, None, True)["kind"] == "mapdb"
    assert damage._run_one(lambda db: 1 // 0, None, True)["cls"] == "ZeroDivisionError"
    ok = damage._run_one(lambda db: pa.table({"x": valid}), None, False)
    assert ok["kind"] == "ok" and ok["rows"] == 3
    assert damage._run_one(lambda db: np.arange(3), None, True)["kind"] == "ok"


def test_every_damage_changes_the_file(tmp_path):
    """Trials are reproducible, and every damage is a real change (verify must find it)."""
    data = bytes(range(256)) * 48  # a 4096-byte "header" and 8 KiB of "data"
    db = tmp_path / "db"
    os.makedirs(db / "t")
    (db / "t" / "f").write_bytes(data)
    files = [damage.File("t/f", "data int64", "data", "k", len(data))]
    seen = set()
    for i in range(60):
        trial = damage.make_trial(7, i, str(db), files, None)
        assert trial == damage.make_trial(7, i, str(db), files, None)
        copy = tmp_path / f"c{i}"
        damage.scratch_copy(str(db), str(copy), "t/f")
        damage.apply(trial, str(copy))
        assert (copy / "t" / "f").read_bytes() != data, trial
        assert (db / "t" / "f").read_bytes() == data  # the pristine file is untouched
        seen.add(trial["damage"])
    assert seen == {"flip header", "flip data", "zero page", "truncate"}


def _run(tmp, trials: int, strict_exit: bool) -> None:
    report = damage.run(trials, seed=15, work=str(tmp), jobs=2)
    kinds = {r["kind"] for r in report.records}
    assert len(report.records) == trials and len(kinds) >= 18, kinds
    assert not report.failures and not report.broken, "\n".join(report.lines())
    if report.exit_problems:
        # A batch child that recorded every trial and then did not exit within 30 s. Seen
        # about once in 20 runs under load, never replayed; its thread stacks are in the
        # message. Failing in the slow run and the soak; reported here so the quick run
        # does not fail CI on it while it is investigated (docs/reliability.md).
        message = "\n".join(report.exit_problems)
        assert not strict_exit, message
        print(f"EXIT PROBLEM (not failed in the quick run): {message}", file=sys.stderr)


def test_damage_fuzz(disk_dir):
    _run(disk_dir / "fuzz", 100, strict_exit=False)


@pytest.mark.slow
def test_damage_fuzz_2000(disk_dir):
    _run(disk_dir / "fuzz", 2000, strict_exit=True)
