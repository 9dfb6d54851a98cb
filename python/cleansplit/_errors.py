"""The exceptions cleansplit raises. Each carries the command line's one-line message."""

__all__ = ["Error", "OptionError", "RootError", "RootNotFoundError", "CleansplitWarning"]


class Error(Exception):
    """Base of every cleansplit error: what the `cleansplit` program reports with exit code 2.

    ``str(e)`` is the program's message without its ``cleansplit: `` prefix; ``e.stderr``
    holds what the command printed before it failed (its warnings), when there was any.
    """

    stderr = ""


class OptionError(Error, ValueError):
    """A bad option (unknown value, out of range, an output inside ROOT, ...), refused before
    any image is read."""


class RootError(Error):
    """ROOT (or a merge source) exists but cannot be read as a dataset."""


class RootNotFoundError(RootError, FileNotFoundError):
    """ROOT (or a merge source) does not exist."""


class CleansplitWarning(UserWarning):
    """A warning the command printed (e.g. the loader reads none of ROOT's images)."""


# Shown as cleansplit.OptionError (where they are exported), not cleansplit._errors.OptionError.
for _cls in (Error, OptionError, RootError, RootNotFoundError, CleansplitWarning):
    _cls.__module__ = "cleansplit"
del _cls
