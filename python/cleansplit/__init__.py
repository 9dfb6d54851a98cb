"""cleansplit: audit image-classification datasets (class folders) and write clean splits.

The functions run the `cleansplit` commands in this process (Rust, through the native module
`cleansplit._native`: the same options, defaults, checks and files as the program) and
return their outputs as Python objects: pandas DataFrames with the columns of the program's
CSV files, dicts as its JSON files. The GIL is released while they work; Ctrl-C or a
notebook's stop button raises KeyboardInterrupt and leaves no partial output; a tqdm bar
shows the scan's progress when tqdm is installed (``progress=False`` for none).

    import cleansplit
    report = cleansplit.audit("data/")          # renders inline in Jupyter
    pairs = cleansplit.leaks("data/").pairs     # a DataFrame: pairs.csv
    model.fit(train_ds, class_weight=cleansplit.class_weight("data/"))

Errors raise `cleansplit.Error` subclasses carrying the program's one-line message:
`OptionError` (a ValueError) for a bad option, `RootNotFoundError` (a FileNotFoundError) for
a missing ROOT. The walkthrough: docs/PYTHON.md. The `cleansplit` program is installed too
(``cleansplit --help``, or ``python -m cleansplit --help``).
"""

from cleansplit._api import (
    AuditResult,
    BalanceResult,
    LeaksResult,
    MergeResult,
    ScanResult,
    ShortcutsResult,
    SplitResult,
    audit,
    balance,
    class_weight,
    leaks,
    merge,
    scan,
    shortcuts,
    split,
)
from cleansplit._binary import find_binary
from cleansplit._errors import (
    CleansplitWarning,
    Error,
    OptionError,
    RootError,
    RootNotFoundError,
)
from cleansplit._native import __version__

__all__ = [
    "scan",
    "leaks",
    "class_weight",
    "balance",
    "split",
    "audit",
    "merge",
    "shortcuts",
    "ScanResult",
    "LeaksResult",
    "BalanceResult",
    "SplitResult",
    "AuditResult",
    "MergeResult",
    "ShortcutsResult",
    "Error",
    "OptionError",
    "RootError",
    "RootNotFoundError",
    "CleansplitWarning",
    "find_binary",
    "__version__",
]
