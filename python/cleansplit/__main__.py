"""The `cleansplit` program: ``cleansplit ARGS`` and ``python -m cleansplit ARGS`` run the
command line (the same Rust ``main`` as the standalone binary) in this process."""

import sys


def main() -> int:
    from cleansplit import _native

    return _native.cli_main(["cleansplit", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
