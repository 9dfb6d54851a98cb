#!/usr/bin/env python3
"""What the real training loaders do with each file: the ground truth for cleansplit's
`--loader` rules (src/loader.rs), checked by tests/real_loaders.rs.

Usage: real_loaders.py LOADER CASES_DIR
  LOADER     keras | keras-legacy | torch
  CASES_DIR  holds one folder per case, CASES_DIR/<case>/x/<one file>

Prints one JSON object {case: "loads" | "ignored" | "fails: <error>"} on stdout, where
`ignored` means the loader does not list the file (its extension is not on its allow-list)
and `fails` that it lists the file and then raises on it (training would stop). Exits 3 with
"skipped: ..." on stderr when the loader's package is not importable.
"""
import json
import os
import sys


def keras_case(d):
    """Keras 3 image_dataset_from_directory (TensorFlow backend) on <case>/x."""
    import keras

    try:
        ds = keras.utils.image_dataset_from_directory(
            os.path.join(d, "x"), labels=None, batch_size=1, image_size=(32, 32),
            shuffle=False, verbose=False)
    except ValueError as e:  # "No images found in directory"
        if "No images found" in str(e):
            return "ignored"
        raise
    try:
        n = sum(1 for _ in ds)
    except Exception as e:  # tf.errors.InvalidArgumentError: Unknown image file format ...
        return "fails: " + str(e).splitlines()[0][:120]
    return "loads" if n == 1 else "ignored"


def legacy_case(d):
    """ImageDataGenerator.flow_from_directory (Keras' legacy API) on <case> (class x)."""
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    it = ImageDataGenerator().flow_from_directory(
        d, target_size=(32, 32), batch_size=1, class_mode=None, shuffle=False)
    if it.samples == 0:
        return "ignored"
    try:
        next(it)
    except Exception as e:
        return "fails: " + str(e).splitlines()[0][:120]
    return "loads"


def torch_case(d):
    """torchvision.datasets.ImageFolder on <case> (class x), default (PIL) loader."""
    from torchvision.datasets import ImageFolder

    try:
        ds = ImageFolder(d)
    except FileNotFoundError:  # "Found no valid file for the classes x"
        return "ignored"
    try:
        ds[0]
    except Exception as e:
        return "fails: " + str(e).splitlines()[0][:120]
    return "loads"


def main():
    loader, cases = sys.argv[1], sys.argv[2]
    # The loaders print progress ("Found 1 images ..."); stdout carries only the JSON.
    out_stream, sys.stdout = sys.stdout, sys.stderr
    run = {"keras": keras_case, "keras-legacy": legacy_case, "torch": torch_case}[loader]
    module = {"keras": "keras", "keras-legacy": "keras", "torch": "torchvision"}[loader]
    try:
        __import__(module)
        if module == "keras":
            import tensorflow  # noqa: F401  (the backend the keras rule follows)
    except Exception as e:  # ImportError, or a broken install
        print(f"skipped: {module} is not importable ({type(e).__name__}: {e})", file=sys.stderr)
        sys.exit(3)
    versions = {}
    if module == "keras":
        import keras
        import tensorflow as tf
        versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    else:
        import PIL
        import torchvision
        versions = {"torchvision": torchvision.__version__, "pillow": PIL.__version__}
    if loader == "keras-legacy":
        import PIL
        versions["pillow"] = PIL.__version__
    out = {"_versions": versions}
    for case in sorted(os.listdir(cases)):
        out[case] = run(os.path.join(cases, case))
    print(json.dumps(out), file=out_stream)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
