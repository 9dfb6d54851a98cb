"""`python -m cleansplit ARGS` runs the installed `cleansplit` program with ARGS."""

import os
import subprocess
import sys

from cleansplit import find_binary


def main():
    try:
        binary = find_binary()
    except FileNotFoundError as e:
        print(f"cleansplit: {e}", file=sys.stderr)
        return 2
    args = [binary, *sys.argv[1:]]
    if sys.platform == "win32":
        # No exec on Windows: run it as a child and pass its exit code on.
        return subprocess.call(args)
    os.execv(binary, args)


if __name__ == "__main__":
    sys.exit(main())
