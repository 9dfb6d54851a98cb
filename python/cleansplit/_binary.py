"""Where the `cleansplit` program of this install is (kept from the wheel's first versions,
which had no API: scripts that ran the program through it still work)."""

import os
import shutil
import sys
import sysconfig

_EXE = "cleansplit" + (".exe" if sys.platform == "win32" else "")


def _candidates():
    # The scheme the package was installed with (a venv, the system, --prefix) ...
    yield sysconfig.get_path("scripts")
    # ... a `pip install --user` ...
    if hasattr(sysconfig, "get_preferred_scheme"):  # Python 3.10+
        yield sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user"))
    else:
        yield sysconfig.get_path("scripts", "nt_user" if os.name == "nt" else "posix_user")
    # ... or `pip install --target DIR`, which puts scripts in DIR/bin next to the package.
    yield os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")


def find_binary() -> str:
    """The path of the installed `cleansplit` program (a console script that runs the same Rust
    code as this module).

    Looks where pip puts scripts for the scheme this package came from, then on PATH; raises
    FileNotFoundError when neither has it (a broken install). In Python, calling the API
    (`cleansplit.audit`, ...) needs no program.
    """
    for folder in _candidates():
        if folder:
            path = os.path.join(folder, _EXE)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which(_EXE)
    if found:
        return found
    raise FileNotFoundError(
        "the cleansplit program is not installed next to this Python package; "
        "reinstall it with `pip install --force-reinstall cleansplit`"
    )
