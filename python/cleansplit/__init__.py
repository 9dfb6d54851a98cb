"""cleansplit: audit image-classification datasets and write clean splits.

The wheel installs the `cleansplit` command-line program (a Rust binary) into the
environment's scripts folder. This package only finds it, so that
``python -m cleansplit ...`` and notebooks can run it:

    import subprocess, cleansplit
    subprocess.run([cleansplit.find_binary(), "audit", "data/", "--out", "audit"], check=True)
"""

import os
import shutil
import sys
import sysconfig

__all__ = ["find_binary"]

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


def find_binary():
    """The path of the installed `cleansplit` program.

    Looks where pip puts scripts for the scheme this package came from, then on PATH;
    raises FileNotFoundError when neither has it (a broken install).
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
