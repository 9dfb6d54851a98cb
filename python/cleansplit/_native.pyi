"""The native module (Rust, PyO3): the command line run by a call. Use the functions of
`cleansplit` instead; this is their engine."""

from collections.abc import Callable, Sequence
from typing import Optional, Tuple

__version__: str

def run(
    args: Sequence[str],
    progress: Optional[Callable[[int, int], object]] = None,
    cleanup: Optional[str] = None,
) -> Tuple[int, str, str]:
    """Runs ``cleansplit ARGS`` in this process: (exit code, stdout, stderr)."""

def cli_main(argv: Sequence[str]) -> int:
    """The `cleansplit` program with ``argv`` (program name first); returns the exit code."""

def arena_bytes() -> int:
    """Bytes the path arena holds (0 between calls)."""

def busy() -> bool:
    """Whether a command is running (or finishing after a KeyboardInterrupt)."""
