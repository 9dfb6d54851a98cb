"""A notebook is a long-lived process: interrupts, memory and calls that must not see each
other's state."""

import os
import signal
import sys
import threading
import time

import pytest

import cleansplit
from cleansplit import _native


@pytest.fixture
def sigint():
    """Python's own Ctrl-C handler, as in a terminal or a notebook: a process started in the
    background (CI, `cmd &`) inherits SIGINT ignored, and Python then installs no handler."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_hundred_scans_keep_memory_flat(demo, tmp_path):
    idx = tmp_path / "index.csv"
    rss = []
    for i in range(100):
        s = cleansplit.scan(demo, index=idx, rehash=(i % 2 == 0), progress=False)
        assert len(s.records) == 56
        assert _native.arena_bytes() == 0, "the path arena is freed after every call"
        del s
        rss.append(rss_kb())
    growth = rss[-1] - rss[9]
    print(f"\nRSS after scan 10: {rss[9]} KB, after 100: {rss[-1]} KB, max {max(rss)} KB "
          f"(growth {growth} KB over 90 scans)")
    # The bound: scans 11..100 together add less than 2 MB (allocator and pandas caches;
    # without freeing, every scan kept its paths: 56 per scan here, ~26 bytes each per image
    # at scale).
    assert growth < 2048, rss


def test_two_roots_do_not_see_each_other(demo, many, tmp_path):
    a = cleansplit.leaks(demo, index=tmp_path / "a.csv", progress=False)
    b = cleansplit.scan(many, index=tmp_path / "b.csv", jobs=1, progress=False)
    a2 = cleansplit.leaks(demo, index=tmp_path / "a.csv", progress=False)
    assert len(b.records) == 2400
    assert set(b.records["class"]) == {"a", "b"}
    assert a2.summary == a.summary
    assert a2.pairs.equals(a.pairs)
    # Paths are relative to each call's own ROOT.
    assert not set(b.records["path"]) & set(a.pairs["path_a"])
    # jobs=1 for one call does not stay: a later call gets its own pool.
    c = cleansplit.scan(demo, index=tmp_path / "a.csv", jobs=2, progress=False)
    assert len(c.records) == 56


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to itself")
def test_ctrl_c_interrupts_a_scan_and_leaves_nothing(many, tmp_path, sigint):
    idx = tmp_path / "index.csv"
    sent = {}

    def progress(done, total):
        # Ctrl-C as the terminal sends it, once the scan is under way.
        if done > 0 and "at" not in sent:
            sent["at"], sent["done"], sent["total"] = time.monotonic(), done, total
            threading.Timer(0.0, os.kill, (os.getpid(), signal.SIGINT)).start()

    with pytest.raises(KeyboardInterrupt):
        cleansplit.scan(many, index=idx, jobs=1, rehash=True, progress=progress)
    raised = time.monotonic()
    assert sent, "the scan reported progress"
    assert sent["done"] < sent["total"] == 2400
    print(f"\ninterrupted at {sent['done']}/{sent['total']} images; KeyboardInterrupt "
          f"{(raised - sent['at']) * 1000:.0f} ms after SIGINT")
    assert not idx.exists(), "an interrupted scan writes no index"
    assert not list(tmp_path.glob("index.csv*"))
    # The next call runs normally (the interrupt was for that call only).
    s = cleansplit.scan(many, index=idx, jobs=1, progress=False)
    assert len(s.records) == 2400 and idx.exists()


def wait_idle():
    for _ in range(600):
        if not _native.busy():
            return
        time.sleep(0.1)
    raise AssertionError("the interrupted command did not finish within a minute")


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to itself")
def test_interrupted_split_removes_its_output(many, tmp_path, monkeypatch, sigint):
    idx = tmp_path / "index.csv"
    cleansplit.scan(many, index=idx, progress=False)
    out = tmp_path / "out"
    # The writer's test hook pauses after 5 files until an interrupt (split::write); SIGINT is
    # sent once OUT's work folder exists, so it lands while the folder is half-written.
    monkeypatch.setenv("CLEANSPLIT_PAUSE_AFTER_FILES", "5")
    seen = []

    def interrupt_when_writing():
        for _ in range(1200):
            seen[:] = list(tmp_path.glob(".out.cleansplit-tmp-*"))
            if seen:
                time.sleep(0.2)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_when_writing)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        cleansplit.split(many, out, index=idx, dedup="none", jobs=1, progress=False)
    watcher.join()
    assert seen, "the split wrote into a work folder"
    wait_idle()
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("index.csv"))
    assert left == [], "no OUT and no work folder left"
    monkeypatch.delenv("CLEANSPLIT_PAUSE_AFTER_FILES")
    s = cleansplit.split(many, out, index=idx, dedup="none", progress=False)
    assert len(s.manifest) == 2400 and (out / "train").is_dir()
