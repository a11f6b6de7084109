"""Cache integrity (issue #17, class 7): every cache entry is checked before it is used; a damaged
one is discarded with a one-line notice and rebuilt, and the result is the one an empty cache gives.
A cache directory that cannot be used falls back to a private temporary cache with a warning.

Each test has a cache of its own (``BRIDGE_CACHE_DIR`` in ``tmp_path``), so it damages nothing else.
The expected values are those of the same run on an undamaged cache, compared bitwise."""
from __future__ import annotations

import io

import numpy as np
import pytest

from bridge import Result

from processes import ROOT, bridge, environment, make_writable, permissions_apply, read_only

MODEL = ROOT / "models" / "tsodyks_depression.yaml"


def _run(tmp_path, backend: str, out: str, cache):
    """``bridge run MODEL --backend BACKEND --out OUT`` with the cache ``cache``: (process, result)."""
    done = bridge("run", MODEL, "--backend", backend, "--out", tmp_path / out, "--force",
                  env=environment(tmp_path, BRIDGE_CACHE_DIR=str(cache)), **permissions_apply())
    assert done.returncode == 0, done.stderr
    return done, Result.load(tmp_path / out)


def _same(a: Result, b: Result) -> bool:
    """Bitwise the same signals and spike trains (the metadata holds timings)."""
    return (a.signals.keys() == b.signals.keys() and a.spike_trains.keys() == b.spike_trains.keys()
            and all(np.array_equal(a.signals[k].times, b.signals[k].times)
                    and np.array_equal(a.signals[k].values, b.signals[k].values) for k in a.signals)
            and all(len(a.spike_trains[p]) == len(b.spike_trains[p])
                    and all(np.array_equal(x, y) for x, y in zip(a.spike_trains[p], b.spike_trains[p]))
                    for p in a.spike_trains))


def test_a_damaged_reference_result_is_discarded_and_run_again(tmp_path):
    """A truncated, then an edited, cached reference result: each is noticed, removed and replaced by
    a fresh run, and the comparison still agrees (the false DISAGREE of a damaged entry is gone)."""
    cache = tmp_path / "cache"
    env = environment(tmp_path, BRIDGE_CACHE_DIR=str(cache))
    first = bridge("compare", MODEL, "--backends", "nest", env=env)
    assert first.returncode == 0, first.stderr
    [entry] = list((cache / "reference").glob("*.npz"))
    good = entry.read_bytes()
    expected = _cached_result(entry)
    for damage in (good[: len(good) // 2], good[:-40] + bytes(40)):
        entry.write_bytes(damage)
        again = bridge("compare", MODEL, "--backends", "nest", env=env)
        assert again.returncode == 0, again.stderr
        assert "damaged cache entry" in again.stderr and "running the reference again" in again.stderr
        assert "reused from the cache" not in again.stderr
        assert _same(_cached_result(entry), expected)  # rebuilt: the reference is deterministic


def _cached_result(entry) -> Result:
    from bridge import cache_entries

    return Result.load(io.BytesIO(cache_entries.load(entry)))


def test_damaged_brian2_code_is_rebuilt_and_gives_the_same_result(tmp_path):
    """An emptied state-update solution (it once gave silently wrong voltages) and a truncated compiled
    module (it once crashed every later run with SIGBUS) are both noticed and rebuilt; the traces are
    bitwise those of the first run."""
    cache = tmp_path / "cache"
    _, expected = _run(tmp_path, "brian2", "first.npz", cache)
    solutions = list((cache / "brian2" / "stateupdaters").glob("*.txt"))
    modules = [p for p in (cache / "brian2" / "cython").rglob("*.so")]
    assert solutions and modules
    for solution in solutions:
        solution.write_bytes(b"")
    for module in modules:
        with open(module, "r+b") as handle:
            handle.truncate(module.stat().st_size // 2)
    done, again = _run(tmp_path, "brian2", "again.npz", cache)
    assert done.stderr.count("damaged cache entry") >= len(solutions) + len(modules), done.stderr
    assert _same(expected, again)


def test_a_damaged_catalog_entry_is_parsed_again(tmp_path):
    """The parsed built-in catalog is cached too: garbage in its entry is noticed and the files are
    parsed again (same result)."""
    cache = tmp_path / "cache"
    _, expected = _run(tmp_path, "reference", "first.npz", cache)
    [entry] = list((cache / "catalog").iterdir())
    entry.write_bytes(b"not a pickle")
    done, again = _run(tmp_path, "reference", "again.npz", cache)
    assert "damaged cache entry" in done.stderr
    assert _same(expected, again)


@pytest.mark.parametrize("make_unusable", ["read-only", "a file"])
def test_an_unusable_cache_directory_falls_back_to_a_private_one(tmp_path, make_unusable):
    """A read-only cache directory (or a file where the directory should be) does not fail the run: a
    private temporary cache is used, with a warning, and the result is that of a usable cache."""
    _, expected = _run(tmp_path, "neuron", "usable.npz", tmp_path / "usable")
    cache = tmp_path / "unusable"
    if make_unusable == "read-only":
        cache.mkdir()
        read_only(cache)
    else:
        cache.write_text("")
    try:
        done, result = _run(tmp_path, "neuron", "fallback.npz", cache)
    finally:
        if cache.is_dir():
            make_writable(cache)
    assert "cannot be used" in done.stderr and "private temporary" in done.stderr, done.stderr
    assert _same(expected, result)
