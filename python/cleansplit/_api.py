"""The API: each function runs one `cleansplit` command in this process (the same options,
defaults, checks and files as the program) and returns its outputs as Python objects."""

from __future__ import annotations

import html
import io
import json
import os
import shutil
import tempfile
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from cleansplit import _native
from cleansplit._errors import CleansplitWarning

PathLike = Union[str, "os.PathLike[str]"]
Progress = Union[bool, Callable[[int, int], object]]

# Column types of the CSV contracts (docs/FORMATS.md): every other column is text. Columns
# that can be empty are pandas' nullable types.
_INT = {"size", "mtime_ns", "distance", "distance256", "group", "fold"}
_NULLABLE_INT = {"width", "height", "orientation", "jpeg_quality"}
_BOOL = {"ext_mismatch", "keras_ok", "cross_split", "label_conflict", "crop", "representative"}


def _pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - exercised by hand without pandas
        raise ImportError(
            "cleansplit's tables are pandas DataFrames and pandas is not installed: "
            "pip install pandas (or pip install 'cleansplit[pandas]')"
        ) from e
    return pandas


def _frame(csv_text: str):
    """A CSV contract as a DataFrame: text columns as str (hashes keep their leading zeros),
    counts as integers, true/false as bool."""
    pd = _pandas()
    df = pd.read_csv(io.StringIO(csv_text), dtype=str, keep_default_na=False)
    for col in df.columns:
        if col in _BOOL:
            df[col] = df[col].map({"true": True, "false": False}).astype(bool)
        elif col in _INT:
            if (df[col] == "").any():
                df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
            else:
                df[col] = df[col].astype("int64")
        elif col in _NULLABLE_INT:
            df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
    return df


class _Table:
    """A DataFrame attribute of a result, parsed from the CSV text ``obj._csv[name]`` on first
    use (so the results that need no table need no pandas)."""

    def __init__(self, doc: str):
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        if obj is None:
            return self
        frames = obj.__dict__.setdefault("_frames", {})
        if self.name not in frames:
            frames[self.name] = _frame(obj._csv[self.name])
        return frames[self.name]


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _weights(mapping: Mapping[str, float]) -> Dict[int, float]:
    return {int(k): float(v) for k, v in mapping.items()}


def _bar(progress: Progress) -> Tuple[Optional[Callable[[int, int], object]], Callable[[], None]]:
    """The progress callback for `_native.run` and a function that closes what it opened."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return None, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, lambda: None
    state: Dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total == 0:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="img", desc="scanning", leave=False)
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return update, close


def _opt(name: str) -> str:
    return "--" + name.replace("_", "-")


def _args(**opts: Any) -> List[str]:
    """Keyword arguments as command-line options: None and False are left out (the program's
    default), True is a flag, a sequence is comma-separated."""
    out: List[str] = []
    for name, value in opts.items():
        if value is None or value is False:
            continue
        if value is True:
            out.append(_opt(name))
        elif isinstance(value, (list, tuple)):
            out += [_opt(name), ",".join(str(v) for v in value)]
        else:
            out += [_opt(name), os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return out


def _run(args: List[str], progress: Progress, cleanup: Optional[str] = None) -> Tuple[int, str]:
    callback, close = _bar(progress)
    try:
        code, stdout, stderr = _native.run(args, callback, cleanup)
    finally:
        close()
    for line in stderr.splitlines():
        if line.startswith("cleansplit: warning: "):
            warnings.warn(line[len("cleansplit: warning: ") :], CleansplitWarning, stacklevel=3)
    return code, stdout


class _Work:
    """A temporary folder for the files a command writes, outside ROOT, removed afterwards."""

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix="cleansplit-")
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _scan_opts(
    index, jobs, splits, labels, max_pixels, rehash, loader
) -> Dict[str, Any]:
    return dict(
        index=index,
        jobs=jobs,
        splits=splits,
        labels=labels,
        max_pixels=max_pixels,
        rehash=rehash,
        loader=loader,
    )


def _leak_opts(
    geometric, max_distance, no_crop, search, search_rounds, search_bits, affine_keys
) -> Dict[str, Any]:
    return dict(
        geometric=geometric,
        max_distance=max_distance,
        no_crop=no_crop,
        search=search,
        search_rounds=search_rounds,
        search_bits=search_bits,
        affine_keys=affine_keys,
    )


def _balance_opts(dedup, min_count, split, method, beta, class_order) -> Dict[str, Any]:
    return dict(
        dedup=dedup, min_count=min_count, split=split, method=method, beta=beta, class_order=class_order
    )


# ---------------------------------------------------------------------------------- results


class ScanResult:
    """What `scan` found: ``records`` (one row per file, the index's columns), ``summary``
    (the program's ``scan --format json``) and ``index_path``."""

    def __init__(self, summary: Dict[str, Any], index_csv: str):
        self.summary = summary
        self.index_path: str = summary["index"]
        self._csv = {"records": index_csv}

    records = _Table("The index as a pandas DataFrame (columns and types: docs/FORMATS.md).")

    def __repr__(self) -> str:
        return f"<cleansplit.ScanResult {self.summary.get('indexed')} images in {self.summary.get('root')}>"


class LeaksResult:
    """Duplicates across and within splits: ``pairs`` and ``groups`` (DataFrames with the
    columns of pairs.csv and groups.csv) and ``summary`` (summary.json)."""

    def __init__(self, pairs_csv: str, groups_csv: str, summary: Dict[str, Any]):
        self.summary = summary
        self._csv = {"pairs": pairs_csv, "groups": groups_csv}

    pairs = _Table("pairs.csv as a DataFrame: one row per matching pair.")
    groups = _Table("groups.csv as a DataFrame: one row per member of a group of copies.")

    def __repr__(self) -> str:
        return f"<cleansplit.LeaksResult {self.summary.get('pairs')} pairs>"


class BalanceResult:
    """Class counts and weights: ``class_weight`` ({index: weight}, as class_weights.json's
    mapping), ``class_names`` (index order), ``counts``, ``weights`` (class_weights.json) and
    ``report`` (``balance --format json``: per-split counts, drift, ...)."""

    def __init__(self, weights: Dict[str, Any], report: Dict[str, Any]):
        self.weights = weights
        self.report = report
        self.class_weight: Dict[int, float] = _weights(weights["class_weight"])
        self.class_names: List[str] = list(weights.get("class_names", []))
        self.counts: Dict[str, int] = dict(weights.get("counts", {}))

    def __repr__(self) -> str:
        return f"<cleansplit.BalanceResult {self.class_weight}>"


class SplitResult:
    """A split written to ``out``: ``report`` (split_report.json), ``manifest`` (manifest.csv
    as a DataFrame; folds.csv with ``kfold``) and ``class_weight`` of the new training split."""

    def __init__(self, out: str, report: Dict[str, Any], manifest_csv: str, weights: Optional[Dict[str, Any]]):
        self.out = out
        self.report = report
        self._csv = {"manifest": manifest_csv}
        self.weights = weights
        self.class_weight: Optional[Dict[int, float]] = _weights(weights["class_weight"]) if weights else None

    manifest = _Table("manifest.csv (folds.csv with ``kfold``) as a DataFrame.")

    def __repr__(self) -> str:
        return f"<cleansplit.SplitResult {self.report.get('copied')} images placed in {self.out}>"


class AuditResult:
    """The audit: ``findings`` (list of dicts: severity, topic, headline, meaning, fix),
    ``kinds`` (which kinds of findings exist: leak, conflict, duplicate, problem, shortcut),
    ``ok`` (none of them), ``report`` (audit.json), ``leaks`` and ``balance`` (as `leaks` and
    `balance` return them), ``to_json()``, ``save_html(path)``, and inline rendering in
    Jupyter."""

    def __init__(self, report: Dict[str, Any], html_text: str, leaks: LeaksResult, weights: Dict[str, Any]):
        self.report = report
        self.findings: List[Dict[str, Any]] = report["findings"]
        self.kinds: Dict[str, bool] = report["kinds"]
        self.ok: bool = not any(self.kinds.values())
        self.html = html_text
        self.leaks = leaks
        self.class_weight: Dict[int, float] = _weights(weights["class_weight"])

    def to_json(self, indent: Optional[int] = 2) -> str:
        """audit.json's text."""
        return json.dumps(self.report, indent=indent)

    def save_html(self, path: PathLike) -> None:
        """Writes report.html (self-contained: thumbnails inlined) to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)

    def _repr_html_(self) -> str:
        # In an iframe, so the report's styles stay out of the notebook's.
        return (
            '<iframe style="width:100%;height:640px;border:1px solid #ddd" '
            f'srcdoc="{html.escape(self.html, quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        worst = [f"{f['severity']}: {f['headline']}" for f in self.findings if f["severity"] != "ok"]
        return "<cleansplit.AuditResult " + ("ok" if self.ok else "; ".join(worst)) + ">"


class MergeResult:
    """A merge written to ``out``: ``report`` (merge_report.json)."""

    def __init__(self, out: str, report: Dict[str, Any]):
        self.out = out
        self.report = report

    def __repr__(self) -> str:
        return f"<cleansplit.MergeResult {self.out}>"


class ShortcutsResult:
    """The shortcut check: ``tests`` (one dict per test: target, scope, accuracy, baseline,
    lift, severity, carriers, ...), ``ok`` (no test above 'ok') and ``report``."""

    def __init__(self, report: Dict[str, Any]):
        self.report = report
        self.tests: List[Dict[str, Any]] = report.get("tests", [])
        self.ok: bool = all(t.get("severity") == "ok" for t in self.tests)

    def __repr__(self) -> str:
        return f"<cleansplit.ShortcutsResult {'ok' if self.ok else 'shortcut found'}>"


# -------------------------------------------------------------------------------- functions


def scan(
    root: PathLike,
    *,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
) -> ScanResult:
    """Indexes every image under ``root`` (``cleansplit scan``), reusing the index of an
    earlier scan for unchanged files.

    Options are the program's (``cleansplit scan --help``): ``index`` (default: the user's
    cache), ``jobs``, ``splits``, ``labels`` (CSV of ``file,label``), ``max_pixels``,
    ``rehash``, ``loader`` (keras, keras-legacy, torch). ``progress``: a tqdm bar when tqdm is
    installed, False for none, or a function ``f(done, total)``.

    >>> s = cleansplit.scan("data/")
    >>> s.records.groupby(["split", "class"]).size()
    >>> s.records[s.records.status != "ok"][["path", "status", "message"]]
    """
    args = ["scan", os.fspath(root), "--format", "json"]
    args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
    _, stdout = _run(args, progress)
    summary = json.loads(stdout)
    return ScanResult(summary, _read(summary["index"]))


def leaks(
    root: PathLike,
    *,
    geometric: str = "all",
    max_distance: Optional[int] = None,
    no_crop: bool = False,
    search: str = "auto",
    search_rounds: Optional[int] = None,
    search_bits: Optional[int] = None,
    affine_keys: Optional[int] = None,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
) -> LeaksResult:
    """Exact and near-duplicate pairs across splits, within a split and across classes
    (``cleansplit leaks``): ``.pairs`` and ``.groups`` as pairs.csv and groups.csv,
    ``.summary`` as summary.json.

    >>> l = cleansplit.leaks("data/")
    >>> l.pairs[l.pairs.cross_split][["path_a", "path_b", "match", "distance"]]
    >>> l.summary["pairs"], l.summary["exact_pairs"], l.summary["near_pairs"]
    """
    with _Work() as work:
        out = os.path.join(work, "leaks")
        args = ["leaks", os.fspath(root), "--out", out, "--format", "json"]
        args += _args(**_leak_opts(geometric, max_distance, no_crop, search, search_rounds, search_bits, affine_keys))
        args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
        _run(args, progress, work)
        return LeaksResult(
            _read(os.path.join(out, "pairs.csv")),
            _read(os.path.join(out, "groups.csv")),
            json.loads(_read(os.path.join(out, "summary.json"))),
        )


def balance(
    root: PathLike,
    *,
    split: Optional[str] = None,
    method: str = "balanced",
    beta: float = 0.999,
    dedup: bool = False,
    min_count: int = 10,
    class_order: Optional[PathLike] = None,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
    **leak_options: Any,
) -> BalanceResult:
    """Class counts per split, drift between splits and class weights (``cleansplit
    balance``). ``split``: the split the weights are for (default: the one named like train,
    else every image); ``method``: balanced (scikit-learn's), inverse, sqrt or effective (with
    ``beta``); ``dedup`` counts each group of copies once (``leak_options`` as `leaks`).

    >>> b = cleansplit.balance("data/")
    >>> b.class_names, b.counts, b.class_weight
    """
    with _Work() as work:
        out = os.path.join(work, "class_weights.json")
        args = ["balance", os.fspath(root), "--out", out, "--format", "json"]
        args += _args(**_balance_opts(dedup, min_count, split, method, beta, class_order))
        args += _args(**leak_options)
        args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
        _, stdout = _run(args, progress, work)
        return BalanceResult(json.loads(_read(out)), json.loads(stdout))


def class_weight(
    root: PathLike,
    split: Optional[str] = None,
    method: str = "balanced",
    **options: Any,
) -> Dict[int, float]:
    """``{class index: weight}`` exactly as class_weights.json's ``class_weight``, for
    ``model.fit(..., class_weight=...)``. Class indexes follow Keras' order (sorted folder
    names). ``split`` defaults to the split named like train (else every image); other
    options as `balance`.

    >>> model.fit(train_ds, validation_data=val_ds, epochs=10,
    ...           class_weight=cleansplit.class_weight("data/"))
    """
    return balance(root, split=split, method=method, **options).class_weight


def split(
    root: PathLike,
    out: PathLike,
    ratio: Optional[Sequence[float]] = (0.8, 0.2),
    *,
    count: Optional[int] = None,
    names: Optional[Sequence[str]] = None,
    seed: int = 42,
    group_by: Optional[str] = None,
    dedup: str = "keep-one",
    conflicts: str = "drop",
    mode: str = "copy",
    verify: bool = False,
    kfold: Optional[int] = None,
    stratify: Optional[Sequence[str]] = None,
    normalize: Optional[str] = None,
    keep_unlabeled: bool = False,
    geometric: str = "all",
    max_distance: Optional[int] = None,
    no_crop: bool = False,
    search: str = "auto",
    search_rounds: Optional[int] = None,
    search_bits: Optional[int] = None,
    affine_keys: Optional[int] = None,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
) -> SplitResult:
    """Writes a clean, group-aware split of ``root`` into ``out`` (``cleansplit split``):
    copies of one image land in one split, one copy each (``dedup``), label conflicts dropped
    (``conflicts``). ``ratio`` train,val[,test] fractions, or ``count`` images per class in
    each split after the first. An interrupt removes the unfinished ``out``.

    >>> s = cleansplit.split("data/", "data-clean/", ratio=(0.8, 0.2))
    >>> s.report["splits"][0]["images"], s.class_weight
    >>> s.manifest[s.manifest.action != "copied"]
    """
    out = os.fspath(out)
    args = ["split", os.fspath(root), out, "--format", "json"]
    if count is not None:
        ratio = None
    args += _args(
        ratio=ratio,
        count=count,
        names=names,
        seed=seed,
        group_by=group_by,
        dedup=dedup,
        conflicts=conflicts,
        mode=mode,
        verify=verify,
        kfold=kfold,
        stratify=stratify,
        normalize=normalize,
        keep_unlabeled=keep_unlabeled,
    )
    args += _args(**_leak_opts(geometric, max_distance, no_crop, search, search_rounds, search_bits, affine_keys))
    args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
    _, stdout = _run(args, progress)
    report = json.loads(stdout)
    table = os.path.join(out, "folds.csv" if kfold else "manifest.csv")
    weights_path = os.path.join(out, "class_weights.json")
    weights = json.loads(_read(weights_path)) if os.path.exists(weights_path) else None
    return SplitResult(out, report, _read(table), weights)


def audit(
    root: PathLike,
    *,
    out: Optional[PathLike] = None,
    max_items: int = 200,
    geometric: str = "all",
    max_distance: Optional[int] = None,
    no_crop: bool = False,
    search: str = "auto",
    search_rounds: Optional[int] = None,
    search_bits: Optional[int] = None,
    affine_keys: Optional[int] = None,
    dedup: bool = False,
    min_count: int = 10,
    split: Optional[str] = None,
    method: str = "balanced",
    beta: float = 0.999,
    class_order: Optional[PathLike] = None,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
) -> AuditResult:
    """Everything at once (``cleansplit audit``): leaks, label conflicts, duplicates, problem
    files, class balance, loader coverage and metadata shortcuts, as findings with what they
    mean and how to fix them. In a notebook the result renders as report.html. ``out`` also
    keeps the program's files (report.html, audit.json, pairs.csv, ...) in that folder.

    >>> a = cleansplit.audit("data/")
    >>> a                       # the report, inline in Jupyter
    >>> a.ok, a.kinds
    >>> [f["headline"] for f in a.findings if f["severity"] == "problem"]
    >>> a.save_html("audit.html")
    """
    with _Work() as work:
        folder = os.fspath(out) if out is not None else os.path.join(work, "audit")
        args = ["audit", os.fspath(root), "--out", folder, "--format", "json"]
        args += _args(max_items=max_items)
        args += _args(**_leak_opts(geometric, max_distance, no_crop, search, search_rounds, search_bits, affine_keys))
        args += _args(**_balance_opts(dedup, min_count, split, method, beta, class_order))
        args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
        _run(args, progress, work)
        report = json.loads(_read(os.path.join(folder, "audit.json")))
        found = LeaksResult(
            _read(os.path.join(folder, "pairs.csv")),
            _read(os.path.join(folder, "groups.csv")),
            json.loads(_read(os.path.join(folder, "summary.json"))),
        )
        weights = json.loads(_read(os.path.join(folder, "class_weights.json")))
        return AuditResult(report, _read(os.path.join(folder, "report.html")), found, weights)


def merge(
    sources: Sequence[PathLike],
    out: PathLike,
    *,
    map: Optional[PathLike] = None,
    labels: Union[None, Mapping[str, PathLike], Sequence[str]] = None,
    classes: Optional[Sequence[str]] = None,
    keep_splits: bool = False,
    conflicts: str = "drop",
    mode: str = "copy",
    verify: bool = False,
    index_dir: Optional[PathLike] = None,
    splits: Optional[Sequence[str]] = None,
    jobs: Optional[int] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    normalize: Optional[str] = None,
    loader: str = "keras",
    geometric: str = "all",
    max_distance: Optional[int] = None,
    no_crop: bool = False,
    search: str = "auto",
    search_rounds: Optional[int] = None,
    search_bits: Optional[int] = None,
    affine_keys: Optional[int] = None,
    progress: Progress = True,
) -> MergeResult:
    """Merges several datasets into ``out`` (``cleansplit merge``), class names unified
    (``map``: CSV of ``source,old,new``), copies across sources found and kept once.
    ``labels``: ``{source name: labels CSV}`` for flat (Kaggle-style) sources.

    >>> m = cleansplit.merge(["kaggle/", "scraped/"], "merged/", keep_splits=True)
    >>> m.report["classes"]
    """
    out = os.fspath(out)
    args = ["merge", *[os.fspath(s) for s in sources], out, "--format", "json"]
    if isinstance(labels, Mapping):
        labels = [f"{k}={os.fspath(v)}" for k, v in labels.items()]
    for spec in labels or []:
        args += ["--labels", spec]
    args += _args(
        map=map,
        classes=classes,
        keep_splits=keep_splits,
        conflicts=conflicts,
        mode=mode,
        verify=verify,
        index_dir=index_dir,
        splits=splits,
        jobs=jobs,
        max_pixels=max_pixels,
        rehash=rehash,
        normalize=normalize,
        loader=loader,
    )
    args += _args(**_leak_opts(geometric, max_distance, no_crop, search, search_rounds, search_bits, affine_keys))
    _, stdout = _run(args, progress)
    return MergeResult(out, json.loads(stdout))


def shortcuts(
    root: PathLike,
    *,
    split: Optional[str] = None,
    index: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    splits: Optional[Sequence[str]] = None,
    labels: Optional[PathLike] = None,
    max_pixels: int = 178_956_970,
    rehash: bool = False,
    loader: str = "keras",
    progress: Progress = True,
) -> ShortcutsResult:
    """Whether file metadata (size, format, JPEG quality, mode, ...) predicts the class or the
    source far above chance (``cleansplit shortcuts``): a network would learn it.

    >>> s = cleansplit.shortcuts("data/")
    >>> s.ok, [(t["scope"], t["lift"]) for t in s.tests]
    """
    args = ["shortcuts", os.fspath(root), "--format", "json"]
    args += _args(split=split)
    args += _args(**_scan_opts(index, jobs, splits, labels, max_pixels, rehash, loader))
    _, stdout = _run(args, progress)
    return ShortcutsResult(json.loads(stdout))
