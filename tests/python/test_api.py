"""The API returns what the program writes: same pairs, groups, weights, findings and tables,
on testdata/demo (a merged dataset with copies across the split, broken files, a conflict)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

import cleansplit


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame of the API back in the CSV's text (true/false, empty for missing)."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if s.dtype == bool:
            out[col] = s.map({True: "true", False: "false"})
        else:
            out[col] = s.astype("string").fillna("").astype(str)
    return out


def read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_the_wheel_is_installed_not_the_source_tree():
    assert "site-packages" in cleansplit.__file__, cleansplit.__file__
    assert cleansplit._native.__file__.endswith((".so", ".pyd"))


def test_program_on_path_and_python_m(cli, program):
    assert cleansplit.find_binary() == program
    version = f"cleansplit {cleansplit.__version__}"
    assert cli("--version").stdout.strip() == version
    r = subprocess.run([sys.executable, "-m", "cleansplit", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == version
    assert cli("leaks", "/nonexistent/root", check=False).returncode == 2


def test_leaks_pairs_and_groups_equal_the_programs(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    cli("leaks", demo, "--out", tmp_path / "cli", "--index", idx, "-q")
    got = cleansplit.leaks(demo, index=idx, progress=False)
    want_pairs = read_csv(tmp_path / "cli" / "pairs.csv")
    assert len(want_pairs) >= 5, "the demo has copies across the split"
    assert list(got.pairs.columns) == list(want_pairs.columns)
    pd.testing.assert_frame_equal(as_text(got.pairs), want_pairs)
    pd.testing.assert_frame_equal(as_text(got.groups), read_csv(tmp_path / "cli" / "groups.csv"))
    assert got.summary == json.loads((tmp_path / "cli" / "summary.json").read_text())
    # Types a user computes with.
    assert got.pairs["distance"].dtype == "int64"
    assert got.pairs["cross_split"].dtype == bool
    assert got.pairs["cross_split"].sum() == (want_pairs["cross_split"] == "true").sum()
    # The search options reach the program (here: descriptors per image of the affine search).
    few = cleansplit.leaks(demo, index=idx, affine_keys=40, progress=False)
    assert few.summary["search"]["affine"]["keys_per_image"] == 40
    assert got.summary["search"]["affine"]["keys_per_image"] == 300


def test_class_weight_equals_class_weights_json(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    for method in ("balanced", "effective"):
        out = tmp_path / f"{method}.json"
        cli("balance", demo, "--out", out, "--index", idx, "--method", method, "-q")
        want = json.loads(out.read_text())
        got = cleansplit.class_weight(demo, method=method, index=idx, progress=False)
        assert got == {int(k): v for k, v in want["class_weight"].items()}
        assert all(isinstance(k, int) for k in got)
    b = cleansplit.balance(demo, index=idx, progress=False)
    assert b.class_names == ["apple", "banana", "cherry"]
    assert b.counts == want["counts"]
    assert "splits" in b.report


def test_audit_findings_equal_the_programs_and_render(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    cli("audit", demo, "--out", tmp_path / "cli", "--index", idx, "-q")
    want = json.loads((tmp_path / "cli" / "audit.json").read_text())
    a = cleansplit.audit(demo, index=idx, progress=False)
    assert a.findings == want["findings"]
    assert a.kinds == want["kinds"] and a.kinds["leak"]
    assert a.ok is False
    assert json.loads(a.to_json()) == want
    html = a._repr_html_()
    assert html.startswith("<iframe") and "srcdoc=" in html
    assert "have a duplicate in train" in html
    a.save_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert a.class_weight == cleansplit.class_weight(demo, index=idx, progress=False)


def test_scan_records_are_the_index_with_types(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    s = cleansplit.scan(demo, index=idx, progress=False)
    want = read_csv(idx)
    assert list(s.records.columns) == list(want.columns)
    pd.testing.assert_frame_equal(as_text(s.records), want)
    assert s.records["size"].dtype == "int64"
    assert s.records["keras_ok"].dtype == bool
    assert str(s.records["width"].dtype) == "Int64"
    assert s.summary["indexed"] == len(s.records)
    # The program's summary of the same index (a rescan: all reused, its own time).
    again = cleansplit.scan(demo, index=idx, progress=False).summary
    want_summary = json.loads(cli("scan", demo, "--index", idx, "--format", "json").stdout)
    assert again == {**want_summary, "seconds": again["seconds"]}
    assert again["reused"] == 56


def test_split_writes_what_the_program_writes(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    cli("split", demo, tmp_path / "cli", "--index", idx, "-q")
    s = cleansplit.split(demo, tmp_path / "api", ratio=(0.8, 0.2), index=idx, progress=False)
    pd.testing.assert_frame_equal(as_text(s.manifest), read_csv(tmp_path / "cli" / "manifest.csv"))
    want = json.loads((tmp_path / "cli" / "class_weights.json").read_text())
    assert s.class_weight == {int(k): v for k, v in want["class_weight"].items()}
    assert s.report["copied"] == json.loads((tmp_path / "cli" / "split_report.json").read_text())["copied"]
    assert sorted(p.name for p in (tmp_path / "api").iterdir()) == sorted(
        p.name for p in (tmp_path / "cli").iterdir()
    )


def test_shortcuts_and_merge(demo, cli, tmp_path):
    idx = tmp_path / "index.csv"
    s = cleansplit.shortcuts(demo, index=idx, progress=False)
    want = json.loads(cli("shortcuts", demo, "--index", idx, "--format", "json").stdout)
    assert s.report == want and s.tests
    m = cleansplit.merge([demo / "train", demo / "val"], tmp_path / "merged",
                         index_dir=tmp_path / "idx", progress=False)
    assert (tmp_path / "merged").is_dir()
    assert {c["class"] if isinstance(c, dict) else c for c in m.report["classes"]} >= {"apple", "banana"}


def test_progress_callback_and_warning(demo, tmp_path):
    seen = []
    cleansplit.scan(demo, index=tmp_path / "i.csv", rehash=True, progress=lambda d, t: seen.append((d, t)))
    # A 56-file scan may finish between two looks; when one is seen it counts up to the total.
    assert all(0 <= d <= t for d, t in seen)


def test_tqdm_bar_when_tqdm_is_installed(many, tmp_path, capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed: the default progress is silent")
    s = cleansplit.scan(many, index=tmp_path / "i.csv")
    assert len(s.records) == 2400
    # tqdm draws on stderr (a notebook widget under Jupyter); it closes its bar when done.
    assert "img" in capsys.readouterr().err
