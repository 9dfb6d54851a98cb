"""The API's tests run against the installed wheel (.ci/run builds it with maturin, installs it
in a fresh venv with pandas and pytest, and runs `python -m pytest tests/python` there):

    pip install '.[test]' && python -m pytest tests/python
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "testdata" / "demo"


@pytest.fixture(scope="session")
def demo() -> pathlib.Path:
    assert DEMO.is_dir(), f"{DEMO} is missing"
    return DEMO


@pytest.fixture(scope="session")
def program() -> str:
    """The `cleansplit` program the wheel installed (next to this Python)."""
    scripts = pathlib.Path(sys.executable).parent
    path = scripts / ("cleansplit.exe" if os.name == "nt" else "cleansplit")
    assert path.exists(), f"the wheel's cleansplit program is not in {scripts}"
    return str(path)


@pytest.fixture
def cli(program, tmp_path):
    """Runs the program: cli(*args) -> CompletedProcess (text)."""

    def run(*args, check=True):
        r = subprocess.run(
            [program, *map(str, args)], capture_output=True, text=True, cwd=tmp_path
        )
        if check and r.returncode not in (0, 1):
            raise AssertionError(f"cleansplit {args} exited {r.returncode}: {r.stderr}")
        return r

    return run


@pytest.fixture
def many(tmp_path_factory, demo) -> pathlib.Path:
    """A dataset of 2,400 small images (the demo's decodable JPEGs and PNGs, copied), slow
    enough to interrupt."""
    root = tmp_path_factory.mktemp("many")
    images = [
        p
        for p in sorted(demo.rglob("*"))
        if p.is_file() and p.suffix in (".jpg", ".png") and p.stat().st_size > 2000
    ]
    for i in range(2400):
        src = images[i % len(images)]
        # Copies of one image stay in one class (else every group is a label conflict).
        dst = root / "train" / ("a" if i % len(images) % 2 else "b") / f"{i:05}{src.suffix}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return root
