"""JoinTable, the hash-join kernel (ext/join.pxi): every probe form against a numpy
reference (random keys with duplicates, NULLs, extreme values, empty sides), the unique
flag, output growth past the probe length, threads probing one table at once, the GIL
released during probes, and a 5M-row build."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from extutil import observe_during

from mapdb._ext import JoinTable

I64_MIN = np.iinfo(np.int64).min
I64_MAX = np.iinfo(np.int64).max


# --------------------------------------------------------------------------- reference


def ref_pairs(bkeys, pkeys, bvalid=None, pvalid=None):
    """All matching (probe row, build row) pairs, ordered by probe row then build row,
    by sorting: the build rows of each key are a run of the stably sorted build keys."""
    bkeys = np.asarray(bkeys, np.int64)
    pkeys = np.asarray(pkeys, np.int64)
    rows = np.arange(len(bkeys)) if bvalid is None else np.flatnonzero(bvalid)
    order = np.argsort(bkeys[rows], kind="stable")
    skeys, srows = bkeys[rows][order], rows[order]
    lo = np.searchsorted(skeys, pkeys, "left")
    cnt = np.searchsorted(skeys, pkeys, "right") - lo
    if pvalid is not None:
        cnt[np.asarray(pvalid) == 0] = 0
    total = int(cnt.sum())
    probe_idx = np.repeat(np.arange(len(pkeys), dtype=np.int64), cnt)
    starts = np.cumsum(cnt) - cnt
    build_idx = srows[np.repeat(lo - starts, cnt) + np.arange(total)].astype(np.int64)
    return probe_idx, build_idx, cnt.astype(np.int64)


def ref_dict(bkeys, pkeys, bvalid=None, pvalid=None):
    """The same pairs by a plain dict, to check the sorting reference on small inputs."""
    table: dict[int, list[int]] = {}
    for b, k in enumerate(bkeys):
        if bvalid is None or bvalid[b]:
            table.setdefault(int(k), []).append(b)
    pairs = [(p, b) for p, k in enumerate(pkeys) if pvalid is None or pvalid[p]
             for b in table.get(int(k), [])]
    return pairs


def check_all(bkeys, pkeys, bvalid=None, pvalid=None):
    """Every probe form of a JoinTable over bkeys against the reference."""
    bkeys = np.ascontiguousarray(bkeys, np.int64)
    pkeys = np.ascontiguousarray(pkeys, np.int64)
    t = JoinTable(bkeys, bvalid)
    rp, rb, rc = ref_pairs(bkeys, pkeys, bvalid, pvalid)

    assert t.rows == len(bkeys)
    inserted = len(bkeys) if bvalid is None else int(np.count_nonzero(bvalid))
    assert t.inserted == inserted
    ins_keys = bkeys if bvalid is None else bkeys[np.asarray(bvalid) != 0]
    assert t.unique == (len(np.unique(ins_keys)) == len(ins_keys))
    assert 2**t.bits >= 2 * inserted and (t.bits == 1 or 2 ** (t.bits - 1) < 2 * inserted)

    p, b = t.probe(pkeys, pvalid)
    assert p.dtype == np.int64 and b.dtype == np.int64
    np.testing.assert_array_equal(p, rp)
    np.testing.assert_array_equal(b, rb)

    c = t.count(pkeys, pvalid)
    assert c.dtype == np.int64
    np.testing.assert_array_equal(c, rc)

    first = t.probe_first(pkeys, pvalid)
    assert first.dtype == np.int64 and len(first) == len(pkeys)
    want_first = np.full(len(pkeys), -1, np.int64)
    if len(rp):
        is_first = np.r_[True, rp[1:] != rp[:-1]]
        want_first[rp[is_first]] = rb[is_first]
    np.testing.assert_array_equal(first, want_first)

    hit, hfirst = t.probe_hits(pkeys, pvalid)
    np.testing.assert_array_equal(hit, np.flatnonzero(want_first >= 0))
    np.testing.assert_array_equal(hfirst, want_first[want_first >= 0])
    miss, mfirst = t.probe_hits(pkeys, pvalid, keep=False)
    np.testing.assert_array_equal(miss, np.flatnonzero(want_first < 0))
    assert (mfirst == -1).all()
    some = np.arange(0, len(pkeys), 3, dtype=np.int64)[::-1].copy()  # any order
    pos, sfirst = t.probe_hits(pkeys, pvalid, some)
    np.testing.assert_array_equal(pos, np.flatnonzero(want_first[some] >= 0))
    np.testing.assert_array_equal(sfirst, want_first[some][pos])

    marks = np.zeros(len(bkeys), np.uint8)
    hits = t.mark(pkeys, marks, pvalid)
    assert hits == int(np.count_nonzero(rc))
    want_marks = np.zeros(len(bkeys), np.uint8)
    want_marks[rb] = 1
    np.testing.assert_array_equal(marks, want_marks)
    return t, rp, rb


def random_valid(rng, n, p_null):
    return (rng.random(n) >= p_null).astype(np.uint8)


# --------------------------------------------------------------------------- correctness


def test_reference_agrees_with_dict():
    rng = np.random.default_rng(0)
    for _ in range(20):
        bk = rng.integers(-5, 6, size=rng.integers(0, 40))
        pk = rng.integers(-6, 7, size=rng.integers(0, 40))
        bv = random_valid(rng, len(bk), 0.2)
        pv = random_valid(rng, len(pk), 0.2)
        rp, rb, _ = ref_pairs(bk, pk, bv, pv)
        assert list(zip(rp.tolist(), rb.tolist(), strict=True)) == ref_dict(bk, pk, bv, pv)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("key_range", [10, 1_000, 1 << 40])
def test_random_keys_with_duplicates(seed, key_range):
    rng = np.random.default_rng(seed)
    nb = int(rng.integers(1, 2_000 if key_range == 10 else 20_000))   # bound the output
    np_ = int(rng.integers(1, 30_000))
    bk = rng.integers(-key_range, key_range, size=nb)
    # probe keys: mostly build keys, some misses
    pk = np.where(rng.random(np_) < 0.8, bk[rng.integers(0, nb, size=np_)],
                  rng.integers(-key_range, key_range, size=np_))
    check_all(bk, pk)
    check_all(bk, pk, random_valid(rng, nb, 0.1), random_valid(rng, np_, 0.1))


@pytest.mark.parametrize("seed", range(3))
def test_unique_keys_shuffled(seed):
    rng = np.random.default_rng(100 + seed)
    bk = rng.permutation(50_000).astype(np.int64) * 3 - 70_000
    pk = rng.integers(-80_000, 90_000, size=100_000)
    t, rp, _ = check_all(bk, pk)
    assert t.unique
    assert len(rp) <= len(pk)


def test_lengths_around_the_pipeline_distances():
    """Build and probe lengths from 0 past the prefetch distances (8, 16, 32; ring 64)."""
    rng = np.random.default_rng(9)
    for n in [*range(0, 70), 127, 128, 129]:
        bk = rng.integers(0, max(n // 2, 1), size=n)
        pk = rng.integers(-1, max(n // 2, 1) + 1, size=n + int(rng.integers(0, 3)))
        check_all(bk, pk)
        check_all(bk, pk, random_valid(rng, n, 0.3), random_valid(rng, len(pk), 0.3))


def test_small_against_dict():
    bk = np.array([7, 3, 7, 9, 3, 7, -1], np.int64)
    pk = np.array([7, 9, 3, 5, 7, -1, 0], np.int64)
    t = JoinTable(bk)
    p, b = t.probe(pk)
    assert list(zip(p.tolist(), b.tolist(), strict=True)) == ref_dict(bk, pk)
    assert t.probe_first(pk).tolist() == [0, 3, 1, -1, 0, 6, -1]
    assert t.count(pk).tolist() == [3, 1, 2, 0, 3, 1, 0]


def test_tpch_like_sequential_keys():
    """orders/lineitem shaped keys: sparse ascending order keys (8 of every 32), each
    probed by 1..7 consecutive line items."""
    rng = np.random.default_rng(7)
    orderkeys = (np.arange(40_000) // 8 * 32 + np.arange(40_000) % 8 + 1).astype(np.int64)
    lines = np.repeat(orderkeys, rng.integers(1, 8, size=len(orderkeys)))
    t, rp, _ = check_all(rng.permutation(orderkeys), lines)
    assert t.unique and len(rp) == len(lines)
    check_all(orderkeys, lines)


# --------------------------------------------------------------------------- NULLs


def test_null_build_rows_never_match():
    bk = np.array([1, 2, 2, 3], np.int64)
    t = JoinTable(bk, np.array([1, 0, 1, 0], np.uint8))
    assert (t.rows, t.inserted, t.unique) == (4, 2, True)   # the duplicate 2 is NULL once
    p, b = t.probe(np.array([3, 2, 1], np.int64))
    assert p.tolist() == [1, 2] and b.tolist() == [2, 0]


def test_null_probe_rows_never_match():
    t = JoinTable(np.array([0, 5], np.int64))
    pk = np.array([0, 5, 0, 5], np.int64)
    pv = np.array([False, True, True, False])
    p, b = t.probe(pk, pv)
    assert p.tolist() == [1, 2] and b.tolist() == [1, 0]
    assert t.probe_first(pk, pv).tolist() == [-1, 1, 0, -1]
    assert t.count(pk, pv).tolist() == [0, 1, 1, 0]
    marks = np.zeros(2, np.uint8)
    assert t.mark(pk, marks, pv) == 2 and marks.tolist() == [1, 1]


def test_all_null_build():
    bk = np.array([4, 4, 4], np.int64)
    t, rp, _ = check_all(bk, bk, np.zeros(3, np.uint8))
    assert t.inserted == 0 and t.unique and len(rp) == 0


def test_all_null_probe():
    bk = np.arange(10, dtype=np.int64)
    _, rp, _ = check_all(bk, bk, None, np.zeros(10, np.uint8))
    assert len(rp) == 0


def test_bool_and_uint8_validity_agree():
    rng = np.random.default_rng(3)
    bk = rng.integers(0, 50, size=500)
    pk = rng.integers(0, 60, size=700)
    bv, pv = rng.random(500) < 0.7, rng.random(700) < 0.7
    a = JoinTable(bk, bv).probe(pk, pv)
    b = JoinTable(bk, bv.astype(np.uint8)).probe(pk, pv.astype(np.uint8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # any nonzero byte is valid
    c = JoinTable(bk, bv.astype(np.uint8) * 7).probe(pk, pv.astype(np.uint8) * 200)
    np.testing.assert_array_equal(a[1], c[1])


def test_probe_hits_rows_outside_the_keys():
    t = JoinTable(np.array([1, 2], np.int64))
    with pytest.raises(IndexError):
        t.probe_hits(np.array([1, 2], np.int64), rows=np.array([0, 2], np.int64))


def test_bad_arguments():
    t = JoinTable(np.arange(4, dtype=np.int64))
    with pytest.raises(ValueError, match="validity"):
        JoinTable(np.arange(4, dtype=np.int64), np.ones(3, np.uint8))
    with pytest.raises(TypeError, match="uint8 or bool"):
        JoinTable(np.arange(4, dtype=np.int64), np.ones(4, np.int32))
    with pytest.raises(ValueError, match="validity"):
        t.probe(np.arange(3, dtype=np.int64), np.ones(4, np.uint8))
    with pytest.raises(ValueError, match="marks"):
        t.mark(np.arange(3, dtype=np.int64), np.zeros(3, np.uint8))
    with pytest.raises(ValueError):
        JoinTable(np.arange(4, dtype=np.int32))   # keys must be int64


# --------------------------------------------------------------------------- edge cases


def test_empty_table():
    t = JoinTable(np.empty(0, np.int64))
    assert (t.rows, t.inserted, t.unique) == (0, 0, True)
    pk = np.array([0, 1, I64_MIN], np.int64)
    p, b = t.probe(pk)
    assert p.dtype == np.int64 and len(p) == 0 and len(b) == 0
    assert t.probe_first(pk).tolist() == [-1, -1, -1]
    assert t.count(pk).tolist() == [0, 0, 0]
    assert t.mark(pk, np.zeros(0, np.uint8)) == 0


def test_empty_probe():
    t = JoinTable(np.array([1, 1], np.int64))
    e = np.empty(0, np.int64)
    p, b = t.probe(e, np.empty(0, np.uint8))
    assert len(p) == 0 and len(b) == 0
    assert len(t.probe_first(e)) == 0 and len(t.count(e)) == 0
    marks = np.zeros(2, np.uint8)
    assert t.mark(e, marks) == 0 and marks.tolist() == [0, 0]


def test_extreme_values():
    bk = np.array([I64_MIN, I64_MAX, -1, 0, 1, I64_MIN, I64_MAX - 1, I64_MIN + 1], np.int64)
    pk = np.array([I64_MAX, I64_MIN, 0, -1, 2, I64_MIN + 1, I64_MAX - 1, -2], np.int64)
    t, _, _ = check_all(bk, pk)
    assert not t.unique
    assert t.probe_first(pk).tolist() == [1, 0, 3, 2, -1, 7, 6, -1]
    assert t.count(pk).tolist() == [1, 2, 1, 1, 0, 1, 1, 0]


def test_negative_keys():
    rng = np.random.default_rng(11)
    bk = -rng.integers(0, 1 << 62, size=5_000)
    pk = np.concatenate([bk[::3], -bk[::5], bk[::7] - 1])
    check_all(bk, pk)


def test_keys_differing_only_in_high_bits():
    """Keys that a weak multiplicative hash would pile into a few buckets."""
    bk = (np.arange(20_000, dtype=np.int64) << 43)
    t, rp, _ = check_all(bk, bk[::-1].copy())
    assert t.unique and len(rp) == len(bk)


def test_output_grows_past_probe_length():
    bk = np.full(1_000, 5, np.int64)
    bk[::10] = 6
    pk = np.array([5] * 100 + [6, 7], np.int64)
    _, rp, rb = check_all(bk, pk)
    assert len(rp) == 100 * 900 + 100
    assert np.all(np.diff(rp) >= 0)
    assert np.all((np.diff(rb) > 0) | (np.diff(rp) > 0))   # build rows ascend per probe row


def test_table_owns_a_copy_of_the_keys():
    bk = np.array([1, 2, 3], np.int64)
    t = JoinTable(bk)
    bk[:] = 9
    assert t.probe_first(np.array([3, 9], np.int64)).tolist() == [2, -1]


def test_read_only_inputs():
    bk = np.arange(100, dtype=np.int64)
    pk = np.arange(50, 150, dtype=np.int64)
    bk.flags.writeable = False
    pk.flags.writeable = False
    valid = np.ones(100, np.uint8)
    valid.flags.writeable = False
    t = JoinTable(bk, valid)
    p, b = t.probe(pk, valid)
    assert p.tolist() == list(range(50)) and b.tolist() == list(range(50, 100))


def test_mark_accumulates():
    t = JoinTable(np.array([1, 2, 3, 1], np.int64))
    marks = np.zeros(4, np.uint8)
    assert t.mark(np.array([1, 5], np.int64), marks) == 1
    assert marks.tolist() == [1, 0, 0, 1]
    assert t.mark(np.array([3, 3], np.int64), marks) == 2
    assert marks.tolist() == [1, 0, 1, 1]


# --------------------------------------------------------------------------- threads


@pytest.fixture(scope="module")
def big_join():
    rng = np.random.default_rng(42)
    nb = 2_000_000
    bk = rng.permutation(nb).astype(np.int64) * 2          # unique, even
    dup = rng.integers(0, nb // 2, size=nb // 4) * 2        # and a duplicate-key table
    bk_dup = np.concatenate([bk, dup])
    pk = rng.integers(0, 2 * nb, size=4_000_000)            # half hit (even), half miss
    return bk, bk_dup, pk


@pytest.mark.parametrize("which", ["unique", "duplicates"])
def test_threads_probe_one_table(big_join, which):
    bk, bk_dup, pk = big_join
    t = JoinTable(bk if which == "unique" else bk_dup)
    assert t.unique == (which == "unique")
    halves = [pk[: len(pk) // 2], pk[len(pk) // 2:]]
    single = {
        "probe": [t.probe(h) for h in halves],
        "first": [t.probe_first(h) for h in halves],
        "count": [t.count(h) for h in halves],
    }
    with ThreadPoolExecutor(2) as ex:
        for _ in range(2):   # each thread probes a different half, then both the same
            fut = {
                "probe": list(ex.map(t.probe, halves)),
                "first": list(ex.map(t.probe_first, halves)),
                "count": list(ex.map(t.count, halves)),
            }
            for name in ("first", "count"):
                for a, b in zip(fut[name], single[name], strict=True):
                    np.testing.assert_array_equal(a, b)
            for (a, b), (c, d) in zip(fut["probe"], single["probe"], strict=True):
                np.testing.assert_array_equal(a, c)
                np.testing.assert_array_equal(b, d)
            halves = [halves[0], halves[0]]
            single = {k: [v[0], v[0]] for k, v in single.items()}


def test_threads_mark_one_array(big_join):
    _, bk_dup, pk = big_join
    t = JoinTable(bk_dup)
    want = np.zeros(t.rows, np.uint8)
    want_hits = t.mark(pk, want)
    marks = np.zeros(t.rows, np.uint8)
    parts = np.array_split(pk, 8)
    with ThreadPoolExecutor(2) as ex:
        hits = sum(ex.map(lambda part: t.mark(part, marks), parts))
    assert hits == want_hits
    np.testing.assert_array_equal(marks, want)


def test_mark_releases_the_gil(big_join):
    """While mark() runs, another thread sees the marks partly set."""
    bk, _, _ = big_join
    t = JoinTable(bk)
    pk = np.repeat(bk, 3)
    marks = np.zeros(t.rows, np.uint8)
    seen = observe_during(lambda: t.mark(pk, marks),
                          lambda: int(np.count_nonzero(marks)),
                          lambda s: 0 < s < t.rows,
                          setup=lambda: marks.fill(0))
    assert seen
    assert np.all(marks == 1)


# --------------------------------------------------------------------------- size


def test_five_million_rows():
    n = 5_000_000
    rng = np.random.default_rng(5)
    bk = rng.permutation(n).astype(np.int64) + 1_000_000_000
    t = JoinTable(bk)
    assert (t.rows, t.inserted, t.unique) == (n, n, True)
    assert 2**t.bits >= 2 * n > 2 ** (t.bits - 1)
    pk = np.arange(1_000_000_000 - 10, 1_000_000_000 + n + 10, 7, dtype=np.int64)
    first = t.probe_first(pk)
    inside = (pk >= 1_000_000_000) & (pk < 1_000_000_000 + n)
    inverse = np.argsort(bk)
    np.testing.assert_array_equal(first[inside], inverse[pk[inside] - 1_000_000_000])
    assert np.all(first[~inside] == -1)
    p, b = t.probe(pk)
    np.testing.assert_array_equal(p, np.flatnonzero(inside))
    np.testing.assert_array_equal(b, first[inside])


@pytest.mark.parametrize("keys, direct", [
    (np.array([5, 3, 5, 9, 4], np.int64), True),  # a small range: slots addressed by key
    (np.array([0, 1 << 40, 7], np.int64), False),  # a wide range: hashed
    (np.array([5, 3_000_000, 5, 77, 0], np.int64), False),  # hashed, with a presence bitmap
    (np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0], np.int64), False),
])
def test_direct_and_hashed_agree(keys, direct):
    """Both layouts give the same answers, including probe keys outside the range."""
    t = JoinTable(keys, np.array([1] * (len(keys) - 1) + [0], np.uint8))
    assert t.direct is direct
    probe = np.concatenate([keys, keys - 1, keys + 1, [-(1 << 62), 1 << 62]]).astype(np.int64)
    inserted = keys[:-1]
    want_first = [int(np.flatnonzero(inserted == k)[0]) if (inserted == k).any() else -1
                  for k in probe]
    assert t.probe_first(probe).tolist() == want_first
    assert t.count(probe).tolist() == [int((inserted == k).sum()) for k in probe]
    marks = np.zeros(len(keys), np.uint8)
    t.mark(probe, marks)
    assert marks.tolist() == [1] * (len(keys) - 1) + [0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sorted_probe", [True, False])
def test_rank_mode(seed, sorted_probe):
    """Unique keys over a moderate range (not small enough to address directly) are
    found through the presence bitmap and the rank of their bit: every probe form agrees
    with the reference, NULLs on both sides, probe keys outside the range and absent."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(4_000_000, 100_000, replace=False).astype(np.int64) + 10**12
    bvalid = random_valid(rng, len(keys), 0.05)
    probe = np.concatenate([rng.choice(keys, 50_000), rng.integers(10**12 - 5, 10**12 + 4_000_005,
                                                                   50_000)])
    if sorted_probe:
        probe.sort()
    t, _, _ = check_all(keys, probe, bvalid, random_valid(rng, len(probe), 0.05))
    assert t.ranked and not t.direct and t.unique


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 47, 48, 49, 100])
def test_rank_mode_lengths_around_the_pipeline(n):
    keys = np.arange(n, dtype=np.int64) * 3_000_000 // max(n, 1) + 5
    t = JoinTable(np.concatenate([keys, [5 + 3_000_000]]))
    assert t.ranked or n < 2
    check_all(np.concatenate([keys, [5 + 3_000_000]]), np.concatenate([keys, keys + 1])[::-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_rank_mode_with_duplicate_keys(seed):
    """Duplicate keys in rank mode: each key's rows chained in ascending order."""
    keys = np.array([5, 3_000_000, 5, 77, 0], np.int64)
    t, _, _ = check_all(keys, np.array([5, 0, 1, 77, 3_000_000, 3_000_001], np.int64))
    assert t.ranked and not t.unique
    rng = np.random.default_rng(seed)
    keys = rng.choice(2_000_000, 50_000).astype(np.int64) * 3  # about 600 keys twice
    keys = np.concatenate([keys, keys[:5_000]])  # and 5,000 more
    probe = np.sort(np.concatenate([rng.choice(keys, 20_000), rng.integers(0, 6_000_000,
                                                                           20_000)]))
    t, _, _ = check_all(keys, probe, random_valid(rng, len(keys), 0.05),
                        random_valid(rng, len(probe), 0.05))
    assert t.ranked and not t.unique


@pytest.mark.parametrize("seed", range(5))
def test_sorted_key_runs_against_searchsorted(seed):
    from mapdb._ext import sorted_key_runs
    rng = np.random.default_rng(seed)
    for _ in range(50):
        data = np.sort(rng.integers(-40, 40, rng.integers(0, 400))).astype(np.int64)
        keys = np.unique(rng.integers(-50, 50, rng.integers(0, 30))).astype(np.int64)
        lo, hi = sorted_key_runs(data, keys)
        np.testing.assert_array_equal(lo, np.searchsorted(data, keys, "left"))
        np.testing.assert_array_equal(hi, np.searchsorted(data, keys, "right"))
    data = np.array([I64_MIN, 0, I64_MAX, I64_MAX], np.int64)
    lo, hi = sorted_key_runs(data, np.array([I64_MIN, I64_MAX], np.int64))
    assert lo.tolist() == [0, 2] and hi.tolist() == [1, 4]
    with pytest.raises(ValueError):
        sorted_key_runs(data, np.array([3, 1], np.int64))


@pytest.mark.parametrize("used", [0.01, 0.04, 0.2, 0.5, 0.96, 0.99])
@pytest.mark.parametrize("dups", [False, True])
def test_direct_mode_at_every_density(used, dups):
    """Direct mode's join-filter probe (probe_hits without validity) counts matches without
    a branch when 3-97% of the slots are used: the same rows as the reference, keep or
    not, across the 16K-row steps, with keys below, inside and above the range."""
    rng = np.random.default_rng(int(used * 100) + dups)
    span = 20_000
    bk = np.sort(rng.choice(span, int(span * used), replace=False)).astype(np.int64) + 500
    if dups:
        bk = np.concatenate([bk, bk[::3]])
        rng.shuffle(bk)
    pk = rng.integers(0, span + 1000, 50_000).astype(np.int64)
    check_all(bk, pk)
