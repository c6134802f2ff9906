"""Page-cache control and pinning: mapdb.storage.cache, db.cache and `mapdb cache`."""

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main
from mapdb.storage import cache as C
from mapdb.storage import index as storage_index
from mapdb.storage.database import DatabaseStore
from mapdb.storage.table import TableFile

PAGE = os.sysconf("SC_PAGE_SIZE")
ROWS = 100_000  # per segment


def _batch(seed: int, rows: int = ROWS) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "a": np.arange(seed * rows, (seed + 1) * rows, dtype=np.int64),
        "b": rng.random(rows),
        "s": pa.array([f"k{i % 7}" for i in range(rows)]),  # dictionary-encoded
        "u": pa.array([f"u{i}" for i in range(rows)]),
    })


def _make_db(path: Path, segments: int = 3, **kw) -> mapdb.Database:
    db = mapdb.connect(path, **kw)
    db.create_table("t", _batch(0))
    for i in range(1, segments):
        db.table("t").append(_batch(i))
    return db


@pytest.fixture
def db(disk_dir):
    d = _make_db(disk_dir / "db", pin_budget="64MB")
    yield d
    d.close()


def _files(db: mapdb.Database, name: str = "t") -> list[TableFile]:
    snap = DatabaseStore(db.path, readonly=True).snapshot(name)
    try:
        return snap.files()
    finally:
        snap.close()


def _need_memlock(nbytes: int) -> None:
    """Skip unless this process may lock ``nbytes`` (root/CAP_IPC_LOCK, or a large enough
    RLIMIT_MEMLOCK): unprivileged users often have 8 MiB, sometimes 64 KiB."""
    if os.getuid() == 0 or _has_cap_ipc_lock():
        return
    soft = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if soft != resource.RLIM_INFINITY and soft < nbytes:
        pytest.skip(f"RLIMIT_MEMLOCK ({soft} bytes) is below the {nbytes} bytes this pins")


def _fincore_pages(paths: list[str]) -> dict[str, tuple[int, int]]:
    """path -> (resident pages, resident bytes) as util-linux fincore reports them."""
    out = subprocess.run(["fincore", "--bytes", "--raw", "--noheadings",
                          "-o", "PAGES,RES,FILE", *paths],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        pages, nbytes, path = line.split(" ", 2)
        res[path] = (int(pages), int(nbytes))
    return res


def _file_status(db, name="t"):
    return {f["path"]: f for f in db.cache.status(name, files=True)
            ["tables"][name]["file_list"]}


# ------------------------------------------------------------------------- residency

@pytest.mark.skipif(shutil.which("fincore") is None, reason="util-linux fincore missing")
def test_status_agrees_with_fincore(db):
    files = _files(db)
    db.cache.evict("t")
    # a mixed state: one data file half read, another every third page, the rest cold
    data = [f for f in files if f.role == "data"]
    with open(data[0].path, "rb") as fh:
        fh.read(data[0].size // 2)
    with open(data[1].path, "rb", buffering=0) as fh:
        for off in range(0, data[1].size, 3 * PAGE):
            os.pread(fh.fileno(), 1, off)
    st = _file_status(db)
    fc = _fincore_pages([f.path for f in files])
    assert set(fc) == set(st)
    for path, (pages, nbytes) in fc.items():
        assert st[path]["resident_pages"] == pages, path
        assert nbytes == pages * PAGE
        assert st[path]["pages"] == -(-os.path.getsize(path) // PAGE)
    partial = [p for p, f in st.items() if 0 < f["resident_pages"] < f["pages"]]
    assert partial  # the comparison covered partly resident files
    # the picture of a half-read column: resident at the start, not at the end
    pic = db.cache.status("t")["tables"]["t"]["columns"][data[0].column]["picture"]
    assert pic[0] == "#" and pic[-1] == "." and len(pic) == C.PICTURE_WIDTH


def test_measuring_does_not_fault_pages_in(db):
    db.cache.evict("t")
    for _ in range(3):
        db.cache.status("t")
    assert db.cache.status("t")["tables"]["t"]["resident"] == 0


def test_warm_then_evict(db):
    w = db.cache.warm("t")
    assert w["files"] == len(_files(db)) and w["bytes"] > 3 * ROWS * 8
    t = db.cache.status("t")["tables"]["t"]
    assert t["resident_pct"] == 100.0
    assert all(c["picture"] == "#" * len(c["picture"]) for c in t["columns"].values())
    db.cache.evict("t")
    t = db.cache.status("t")["tables"]["t"]
    for c in t["columns"].values():
        assert c["roles"]["data"]["resident"] == 0
        assert set(c["picture"]) == {"."}
    assert t["resident_pct"] < 1.0


def test_warm_and_evict_chosen_columns(db):
    db.cache.evict("t")
    db.cache.warm("t", columns=["a"])
    cols = db.cache.status("t")["tables"]["t"]["columns"]
    assert cols["a"]["resident_pct"] == 100.0
    assert cols["b"]["resident"] == 0 and cols["u"]["resident"] == 0
    db.cache.warm("t")
    db.cache.evict("t", columns=["b", "u"])
    cols = db.cache.status("t")["tables"]["t"]["columns"]
    assert cols["a"]["resident_pct"] == 100.0 and cols["s"]["resident_pct"] == 100.0
    assert cols["b"]["resident"] == 0 and cols["u"]["resident"] == 0
    with pytest.raises(mapdb.MapdbError, match="no column 'nope'"):
        db.cache.warm("t", columns=["nope"])
    with pytest.raises(mapdb.MapdbError, match="no table"):
        db.cache.evict("missing")


def test_evict_releases_the_query_mappings(db):
    db.cache.evict("t")
    assert db.sql("SELECT sum(a) FROM t").to_arrow().column(0)[0].as_py() == \
        sum(range(3 * ROWS))
    db.cache.evict("t")  # the cached open version's mapped pages are let go first
    cols = db.cache.status("t")["tables"]["t"]["columns"]
    assert cols["a"]["roles"]["data"]["resident"] == 0


# ------------------------------------------------------------------------- pinning

def test_pinned_index_pages_stay_resident_after_evict(db):
    _need_memlock(1 << 20)
    db.cache.warm("t")
    assert db.cache.ensure_pinned("t") is True
    rep = db.cache.pinned("t")
    zones = [f for f in _files(db) if f.role == "zones"]
    dicts = [f for f in _files(db) if f.role == "dictionary"]
    assert rep["files"] == len(zones) + len(dicts) > 0
    assert rep["pinned"] == rep["auto"] == sum(f.size for f in zones + dicts)
    db.cache.evict("t")
    st = _file_status(db)
    fc = _fincore_pages(list(st)) if shutil.which("fincore") else None
    for path, f in st.items():
        if f["role"] in ("zones", "dictionary"):
            assert f["resident_pages"] == f["pages"] and f["pinned"] == f["bytes"], path
        else:
            assert f["resident_pages"] == 0 and f["pinned"] == 0, path
        if fc is not None:
            assert fc[path][0] == f["resident_pages"]
    t = db.cache.status("t")["tables"]["t"]
    assert t["pinned"] == rep["pinned"]
    assert t["columns"]["a"]["roles"]["zones"]["pinned"] == \
        t["columns"]["a"]["roles"]["zones"]["bytes"]
    # without the pins, the same evict drops the zone maps too
    db.cache.unpin("t")
    db.cache.evict("t")
    assert db.cache.status("t")["tables"]["t"]["resident"] == 0


def test_explicit_pin_of_a_column_survives_evict(db):
    _need_memlock(4 << 20)
    rep = db.cache.pin("t", columns=["a"])
    a_files = [f for f in _files(db) if f.column == "a"]
    assert rep["refused"] is None and rep["explicit"] == sum(f.size for f in a_files)
    assert {p.file.path for p in db.cache._pins.pinned() if p.explicit} == \
        {f.path for f in a_files}
    db.cache.evict("t")
    cols = db.cache.status("t")["tables"]["t"]["columns"]
    assert cols["a"]["resident_pct"] == 100.0 and cols["a"]["pinned"] == cols["a"]["bytes"]
    assert cols["b"]["roles"]["data"]["resident"] == 0
    released = db.cache.unpin("t", columns=["a"])
    data = sum(f.size for f in a_files if f.role != "zones")  # zone maps stay auto-pinned
    assert released == data and db.cache.pinned("t")["explicit"] == 0
    db.cache.evict("t")
    a = db.cache.status("t")["tables"]["t"]["columns"]["a"]
    assert a["roles"]["data"]["resident"] == 0 and a["roles"]["zones"]["pinned"] > 0


def test_explicit_pin_budget_prefers_index_files(db):
    _need_memlock(2 << 20)
    zones_dicts = sum(f.size for f in _files(db) if f.role in ("zones", "dictionary"))
    budget = C._locked_size(zones_dicts) + 250 * PAGE  # one ~200-page file more
    rep = db.cache.pin("t", budget=budget)
    assert rep["skipped"] > 0 and rep["locked"] <= budget
    roles = Counter(p.file.role for p in db.cache._pins.pinned())
    have = Counter(f.role for f in _files(db))
    assert roles["zones"] == have["zones"] and roles["dictionary"] == have["dictionary"]
    assert 0 < roles["data"] + roles["offsets"] + roles["validity"] < have["data"]


def test_ensure_pinned_is_cheap_and_follows_versions(db):
    _need_memlock(1 << 20)
    assert db.cache.ensure_pinned("t") is True
    assert db.cache.ensure_pinned("t") is False
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        db.cache.ensure_pinned("t")
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 500e-6, per_call  # tens of microseconds here; generous for CI
    old = {p.file.path for p in db.cache._pins.pinned()}
    db.table("t").append(_batch(3))
    assert db.cache.ensure_pinned("t") is True
    now = {p.file.path for p in db.cache._pins.pinned()}
    current = {f.path for f in _files(db) if f.role in ("zones", "dictionary")}
    assert now == current and old < now | old and now - old
    # a replaced table: old files let go, new ones pinned
    db.create_table("t", _batch(9), mode="replace")
    assert db.cache.ensure_pinned("t") is True
    assert {p.file.path for p in db.cache._pins.pinned()} == \
        {f.path for f in _files(db) if f.role in ("zones", "dictionary")}
    db.drop_table("t")
    assert db.cache.ensure_pinned("t") is True and db.cache._pins.pinned() == []


def test_auto_budget_and_priority(disk_dir):
    _need_memlock(1 << 20)
    db = _make_db(disk_dir / "db", pin_budget=0)
    try:
        assert db.cache.ensure_pinned("t") is False and db.cache._pins.pinned() == []
        zones = [f for f in _files(db) if f.role == "zones"]
        db.cache.budget = sum(C._locked_size(f.size) for f in zones)  # zones only
        assert db.cache.ensure_pinned("t") is True
        assert {p.file.role for p in db.cache._pins.pinned()} == {"zones"}
        db.cache.budget = "64MB"
        db.cache.ensure_pinned("t")
        assert {p.file.role for p in db.cache._pins.pinned()} == {"zones", "dictionary"}
        db.close()  # releases the pins
        assert db.cache._pins.pinned() == []
    finally:
        db.close()


def test_auto_candidates_order_by_role_then_use():
    def f(role, column="c", index=None, seg=1, size=4097):
        return TableFile(f"/x/{role}-{column}-{index}-{seg}", column, role, seg, size, index)

    files = [f("data"), f("index", "c", "ix_c", 1), f("index", "d", "ix_d", 1),
             f("zones"), f("dictionary", seg=None), f("index", "c", "ix_c", 2),
             f("validity"), f("offsets")]
    key = ("/tbl", "ix_d")
    storage_index.USE_COUNTS[key] += 5
    try:
        cands, order = C._auto_candidates(files, "/tbl")
    finally:
        storage_index.USE_COUNTS[key] -= 5
    assert order == ("ix_d", "ix_c")
    assert [(x.role, x.index, x.segment) for x in cands] == [
        ("zones", None, 1), ("dictionary", None, None), ("index", "ix_d", 1),
        ("index", "ix_c", 1), ("index", "ix_c", 2)]
    out = []
    short, skipped = C._fit([f("zones", size=3 * PAGE), f("zones", size=PAGE),
                             f("zones", size=PAGE)], 2 * PAGE, out)
    assert short and skipped == 1 and [x.size for x in out] == [PAGE, PAGE]  # skip, go on
    roles = [x.role for x in C._explicit_candidates(files, "/tbl")]
    assert roles[:5] == ["zones", "dictionary", "index", "index", "index"]
    assert roles[5:] == ["validity", "offsets", "data"]


def test_parse_size():
    assert C.parse_size("512MB") == C.parse_size("512MiB") == 512 << 20
    assert C.parse_size("1GiB") == C.parse_size("1g") == 1 << 30
    assert C.parse_size(4096) == 4096 and C.parse_size("100") == 100
    for v in (None, "0", "", "none", 0):
        assert C.parse_size(v) == 0
    for bad in ("12XB", "-1", "MB", -5, True):
        with pytest.raises(ValueError):
            C.parse_size(bad)
    with pytest.raises(ValueError):
        mapdb.connect(tempfile.mkdtemp() + "/db", pin_budget="lots")


# ------------------------------------------------------------------------- refused mlock

_CHILD = textwrap.dedent("""
    import json, sys, warnings
    import mapdb
    from mapdb.errors import PinWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db = mapdb.connect(sys.argv[1], readonly=True, pin_budget="64MB")
        auto = [db.cache.ensure_pinned("t"), db.cache.ensure_pinned("t2"),
                db.cache.ensure_pinned("t")]
        rows = db.sql("SELECT count(*) AS n, sum(a) AS s FROM t WHERE a % 2 = 0")
        rows = rows.to_arrow().to_pylist()
        pin = db.cache.pin("t", ["a"])
        st = db.cache.status()
    pins = [str(w.message) for w in caught if issubclass(w.category, PinWarning)]
    cap = [ln for ln in open("/proc/self/status") if ln.startswith("CapEff:")]
    import resource
    print(json.dumps({"cap_ipc_lock": bool(int(cap[0].split()[1], 16) & (1 << 14)),
                      "memlock": resource.getrlimit(resource.RLIMIT_MEMLOCK)[0],
                      "rows": rows, "pins": pins, "pin": pin, "auto": auto,
                      "others": [str(w.message) for w in caught
                                 if not issubclass(w.category, PinWarning)],
                      "pinned": st["pinned"],
                      "table_pinned": [t["pinned"] for t in st["tables"].values()]}))
""")


def _drop_privileges():
    """In the child before exec: a one-page RLIMIT_MEMLOCK and, for root, no CAP_IPC_LOCK
    (dropped from the bounding set, so the exec'd interpreter does not get it back; root
    keeps its uid because the interpreter may live where nobody cannot read)."""
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (PAGE, PAGE))
    if os.getuid() == 0:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(24, 14, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_IPC_LOCK
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK)")


def test_refused_mlock_works_unpinned_with_one_warning(disk_dir):
    if os.getuid() != 0 and _has_cap_ipc_lock():
        pytest.skip("this process has CAP_IPC_LOCK without being root")
    db = _make_db(disk_dir / "db", segments=2)
    db.create_table("t2", _batch(5, 1000))
    db.close()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(disk_dir / "db")],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=_drop_privileges)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert not out["cap_ipc_lock"] and out["memlock"] == PAGE
    evens = list(range(0, 2 * ROWS, 2))
    assert out["rows"] == [{"n": len(evens), "s": sum(evens)}]
    assert len(out["pins"]) == 1, out["pins"]  # exactly one per process
    msg = out["pins"][0]
    assert "RLIMIT_MEMLOCK is 4.0 KiB" in msg
    for hint in ("ulimit -l", "LimitMEMLOCK=", "limits.conf", "CAP_IPC_LOCK"):
        assert hint in msg
    assert out["pin"]["refused"] and out["pin"]["pinned"] == 0
    assert out["pinned"] == 0 and out["table_pinned"] == [0, 0]
    assert out["others"] == []


def _has_cap_ipc_lock() -> bool:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 14))
    return False


# ------------------------------------------------------------------------- CLI

@pytest.fixture
def cli_db(disk_dir):
    path = disk_dir / "db"
    _make_db(path).close()
    yield str(path)
    for f in (path / C.PINS_DIR).glob("*.json") if (path / C.PINS_DIR).exists() else []:
        with contextlib.suppress(Exception):
            info = json.loads(f.read_text())
            if C.process_start(info["pid"]) == info["start"]:
                os.kill(info["pid"], signal.SIGKILL)


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_pin_holder_round_trip(cli_db):
    _need_memlock(6 << 20)
    r = _run("cache", "pin", cli_db, "t", "--columns", "a,s")
    assert r.exit_code == 0, r.output
    assert "holder pid" in r.output
    holders = C.read_holders(cli_db, "t")
    assert len(holders) == 1
    pid = holders[0]["pid"]
    assert os.path.exists(os.path.join(cli_db, C.PINS_DIR, "t.json"))
    locked = C.locked_files(pid)
    assert locked and sum(locked.values()) >= holders[0]["pinned"] > 0

    st = json.loads(_run("cache", "status", cli_db, "t", "--json").output)
    t = st["tables"]["t"]
    assert t["holders"][0]["pid"] == pid and t["holders"][0]["locked"] > 0
    assert t["columns"]["a"]["pinned"] == t["columns"]["a"]["bytes"]
    assert t["columns"]["s"]["pinned"] == t["columns"]["s"]["bytes"]
    assert t["columns"]["b"]["pinned"] == 0
    # evicting spares what the holder locked
    assert _run("cache", "evict", cli_db, "t").exit_code == 0
    t = json.loads(_run("cache", "status", cli_db, "t", "--json").output)["tables"]["t"]
    assert t["columns"]["a"]["resident_pct"] == 100.0
    assert t["columns"]["b"]["roles"]["data"]["resident"] == 0
    text = _run("cache", "status", cli_db).output
    assert f"holder pid {pid}" in text and "#" * 10 in text and "." * 10 in text

    # the holder follows a new version of the table
    db = mapdb.connect(cli_db, pin_budget=0)
    db.table("t").append(_batch(7))
    deadline = time.monotonic() + 5
    while C.read_holders(cli_db, "t")[0]["version"] != 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert C.read_holders(cli_db, "t")[0]["version"] == 4
    t = db.cache.status("t")["tables"]["t"]
    assert t["columns"]["a"]["pinned"] == t["columns"]["a"]["bytes"]

    r = _run("cache", "unpin", cli_db, "t")
    assert r.exit_code == 0 and f"stopped holder pid {pid}" in r.output
    assert C.process_start(pid) is None
    assert C.read_holders(cli_db) == []
    t = json.loads(_run("cache", "status", cli_db, "t", "--json").output)["tables"]["t"]
    assert t["pinned"] == 0 and t["holders"] == []
    assert "nothing pinned" in _run("cache", "unpin", cli_db, "t").output


def test_cli_stale_pid_file_is_ignored(cli_db):
    p = subprocess.Popen(["true"])
    p.wait()
    os.makedirs(os.path.join(cli_db, C.PINS_DIR))
    C.write_holder(cli_db, "t", {"pid": p.pid, "start": 1, "table": "t"})
    t = json.loads(_run("cache", "status", cli_db, "t", "--json").output)["tables"]["t"]
    assert t["holders"] == [] and t["pinned"] == 0
    assert not os.path.exists(C.holder_path(cli_db, "t"))  # cleaned
    assert "nothing pinned" in _run("cache", "unpin", cli_db, "t").output


def test_cli_warm_evict_status_and_errors(cli_db):
    r = _run("cache", "warm", cli_db, "t", "--columns", "b")
    assert r.exit_code == 0 and r.output.startswith("warmed t: ")
    r = _run("cache", "status", cli_db, "t")
    assert r.exit_code == 0
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln.strip()}
    assert lines["b"].split()[-1] == "#" * C.PICTURE_WIDTH and "100.0%" in lines["b"]
    assert "evicted t:" in _run("cache", "evict", cli_db, "t").output
    for args, msg in [(("cache", "warm", cli_db, "nope"), "no table 'nope'"),
                      (("cache", "pin", cli_db, "t", "--columns", "zz"), "no column 'zz'"),
                      (("cache", "pin", cli_db, "t", "--budget", "lots"), "not a size"),
                      (("cache", "status", cli_db + "-missing"), "no mapdb database")]:
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 1 and msg in r.output and r.output.count("\n") == 1, r.output



def test_hash_index_files_pinned_by_use(db):
    _need_memlock(8 << 20)
    w = DatabaseStore(db.path).writer("t")
    try:
        w.create_index("a")
        w.create_index("u")
    finally:
        w.close()
    files = _files(db)
    ix = {n: [f for f in files if f.index == n] for n in ("a_hash", "u_hash")}
    assert all(len(v) == 3 for v in ix.values())  # one file per segment
    small = sum(C._locked_size(f.size) for f in files if f.role in ("zones", "dictionary"))
    a_bytes = sum(C._locked_size(f.size) for f in ix["a_hash"])
    u_bytes = sum(C._locked_size(f.size) for f in ix["u_hash"])
    table_dir = db._store.table_dir("t")
    keys = [(table_dir, "a_hash"), (table_dir, "u_hash")]
    try:
        storage_index.USE_COUNTS[keys[1]] += 10  # u_hash is the more used
        db.cache.budget = small + max(a_bytes, u_bytes)  # room for one index only
        assert db.cache.ensure_pinned("t") is True
        pinned = {p.file.index for p in db.cache._pins.pinned() if p.file.role == "index"}
        assert pinned == {"u_hash"}
        assert db.cache.ensure_pinned("t") is False
        storage_index.USE_COUNTS[keys[0]] += 20  # now a_hash is: pins follow the use
        assert db.cache.ensure_pinned("t") is True
        pinned = {p.file.index for p in db.cache._pins.pinned() if p.file.role == "index"}
        assert pinned == {"a_hash"}
    finally:
        for k in keys:
            storage_index.USE_COUNTS.pop(k, None)
    db.cache.evict("t")
    t = db.cache.status("t")["tables"]["t"]
    assert set(t["indexes"]) == {"a_hash", "u_hash"}
    a, u = t["indexes"]["a_hash"], t["indexes"]["u_hash"]
    assert a["column"] == "a" and a["pinned"] == a["bytes"] and a["resident_pct"] == 100.0
    assert set(a["picture"]) == {"#"} and u["pinned"] == 0 and set(u["picture"]) == {"."}
    assert t["bytes"] == sum(c["bytes"] for c in t["columns"].values()) + a["bytes"] + \
        u["bytes"]
    # the index still answers lookups with its data pages evicted
    assert db.sql("SELECT b FROM t WHERE a = 123456").to_arrow().num_rows == 1


def test_cli_pin_indexes_only_holder(cli_db):
    _need_memlock(6 << 20)
    db = mapdb.connect(cli_db, pin_budget=0)
    db.table("t").create_index("a")
    r = _run("cache", "pin", cli_db, "t", "--indexes", "--budget", "64MB")
    assert r.exit_code == 0 and "index files" in r.output, r.output
    pid = C.read_holders(cli_db, "t")[0]["pid"]
    _run("cache", "evict", cli_db, "t")
    t = json.loads(_run("cache", "status", cli_db, "t", "--json").output)["tables"]["t"]
    ix = t["indexes"]["a_hash"]
    assert ix["resident"] == ix["bytes"] > 0  # the hash index stayed in RAM
    assert t["columns"]["a"]["roles"]["data"]["resident"] == 0  # the data did not
    assert _run("cache", "unpin", cli_db, "t").exit_code == 0
    assert C.process_start(pid) is None
    r = _run("cache", "pin", cli_db, "t", "--indexes", "--columns", "a")
    assert r.exit_code == 1 and "no --columns" in r.output


def test_status_is_a_dict_that_prints_as_a_table(cli_db):
    """``db.cache.status()`` stays a JSON-able dict but prints (str, repr, IPython) as the
    table ``mapdb cache status`` shows, not as a nested dict."""
    db = mapdb.connect(cli_db, readonly=True, pin_budget=0)
    db.cache.warm("t", ["b"])
    st = db.cache.status()
    assert isinstance(st, dict) and json.loads(json.dumps(st)) == st
    text = str(st)
    assert repr(st) == text and "{" not in text
    lines = text.splitlines()
    assert lines[0].startswith("t: version ") and "resident" in lines[0]
    assert lines[1].split() == ["column", "bytes", "resident", "%", "pinned", "data", "pages"]
    row = {ln.split()[0]: ln for ln in lines[3:] if ln.strip()}
    assert row["b"].split()[-1] == "#" * C.PICTURE_WIDTH and "100.0%" in row["b"]
    assert lines[-1].startswith("RLIMIT_MEMLOCK ")
    # the command line prints the same table (residency may have moved: compare the shape)
    cli = _run("cache", "status", cli_db).output.splitlines()
    assert [ln.split()[0] for ln in cli if ln.strip()] == \
        [ln.split()[0] for ln in lines if ln.strip()]
    db.close()
