"""Errors raise cleansplit.Error subclasses with the program's one-line message."""

import pytest

import cleansplit


def program_message(cli, *args) -> str:
    r = cli(*args, check=False)
    assert r.returncode == 2, r
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("cleansplit: ")
    return line[len("cleansplit: ") :]


def test_missing_root_is_a_file_not_found_error_with_the_programs_message(cli, tmp_path):
    missing = tmp_path / "no-such-dataset"
    with pytest.raises(cleansplit.RootNotFoundError) as e:
        cleansplit.leaks(missing, index=tmp_path / "i.csv", progress=False)
    assert isinstance(e.value, FileNotFoundError)
    assert isinstance(e.value, cleansplit.Error)
    assert str(e.value) == program_message(cli, "leaks", missing, "--index", tmp_path / "i.csv")
    assert "no-such-dataset" in str(e.value)
    with pytest.raises(FileNotFoundError):
        cleansplit.class_weight(missing, progress=False)


@pytest.mark.parametrize(
    "kwargs, flags",
    [
        ({"max_distance": 99}, ["--max-distance", "99"]),
        ({"jobs": 0}, ["--jobs", "0"]),
        ({"search_bits": 5}, ["--search-bits", "5"]),
    ],
)
def test_bad_option_is_a_value_error_with_the_programs_message(demo, cli, tmp_path, kwargs, flags):
    with pytest.raises(cleansplit.OptionError) as e:
        cleansplit.leaks(demo, index=tmp_path / "i.csv", progress=False, **kwargs)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == program_message(cli, "leaks", demo, "--index", tmp_path / "i.csv", *flags)


def test_a_value_the_program_does_not_know_is_a_value_error(demo, tmp_path):
    with pytest.raises(ValueError, match="invalid value 'sideways' for '--geometric"):
        cleansplit.leaks(demo, geometric="sideways", index=tmp_path / "i.csv", progress=False)
    with pytest.raises(ValueError, match="possible values: balanced"):
        cleansplit.class_weight(demo, method="median", progress=False)


def test_output_inside_root_is_refused_before_anything_is_written(demo, tmp_path):
    with pytest.raises(cleansplit.OptionError, match="inside ROOT"):
        cleansplit.split(demo, demo / "clean", index=tmp_path / "i.csv", progress=False)
    assert not (demo / "clean").exists()


def test_a_file_as_root_is_an_error(tmp_path):
    f = tmp_path / "file.jpg"
    f.write_bytes(b"x")
    with pytest.raises(cleansplit.Error) as e:
        cleansplit.scan(f, index=tmp_path / "i.csv", progress=False)
    assert not isinstance(e.value, FileNotFoundError)


def test_a_missing_merge_source_is_a_file_not_found_error(demo, cli, tmp_path):
    missing = tmp_path / "gone"
    with pytest.raises(cleansplit.RootNotFoundError) as e:
        cleansplit.merge([demo, missing], tmp_path / "merged", index_dir=tmp_path / "i", progress=False)
    assert str(e.value) == program_message(cli, "merge", demo, missing, tmp_path / "merged2", "--index-dir", tmp_path / "i")
    assert not (tmp_path / "merged").exists()
