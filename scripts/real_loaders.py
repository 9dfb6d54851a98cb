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

Usage: real_loaders.py dataset LOADER DIR
  Builds the loader on a whole folder as a user would (class folders, or, for keras, a
  flat folder with labels=None), then decodes every listed file on its own. Prints
  {"classes": [...], "files": {relative path: "loads" | "fails: <error>"}, "error": null |
  "<error building the dataset>", "epoch": null | "<error of one pass over the dataset>"}.

Usage: real_loaders.py pandas FILE...
  Reads each CSV with pandas.read_csv (dtype=str, no NA guessing) and each JSON with
  json.load + pandas.json_normalize. Prints {file: {"columns": [...], "rows": n,
  "first_column": [...]}} ("rows" of a JSON file is 1). Exits 3 when pandas is missing.
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


def first_line(e):
    return (str(e).splitlines() or [type(e).__name__])[0][:160]


def rel_files(root, paths):
    return [os.path.relpath(p, root) for p in paths]


def keras_dataset(d):
    import keras
    import tensorflow as tf

    flat = not any(e.is_dir() for e in os.scandir(d))
    ds = keras.utils.image_dataset_from_directory(
        d, labels=None if flat else "inferred", batch_size=4, image_size=(32, 32),
        shuffle=False, verbose=False)
    classes = [] if flat else list(ds.class_names)

    def decode(p):
        tf.io.decode_image(tf.io.read_file(p), channels=3, expand_animations=False)

    return ds, classes, list(ds.file_paths), decode, lambda: sum(1 for _ in ds)


def legacy_dataset(d):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator
    from keras.src.utils.image_utils import img_to_array, load_img

    def decode(p):  # what DirectoryIterator._get_batches_of_transformed_samples does
        img_to_array(load_img(p, target_size=(32, 32)))

    it = ImageDataGenerator().flow_from_directory(
        d, target_size=(32, 32), batch_size=4, class_mode="sparse", shuffle=False)
    classes = [c for c, _ in sorted(it.class_indices.items(), key=lambda kv: kv[1])]

    def epoch():
        for _ in range(len(it)):
            next(it)

    return it, classes, list(it.filepaths), decode, epoch


def torch_dataset(d):
    from torchvision.datasets import ImageFolder

    ds = ImageFolder(d)

    def epoch():
        for i in range(len(ds)):
            ds[i]

    return ds, list(ds.classes), [p for p, _ in ds.samples], ds.loader, epoch


def dataset(loader, d):
    build = {"keras": keras_dataset, "keras-legacy": legacy_dataset, "torch": torch_dataset}
    out = {"classes": [], "files": {}, "error": None, "epoch": None}
    try:
        _, classes, paths, decode, epoch = build[loader](d)
    except Exception as e:  # e.g. torchvision: "Found no valid file for the classes ..."
        out["error"] = first_line(e)
        return out
    out["classes"] = classes
    for p, rel in zip(paths, rel_files(d, paths)):
        try:
            decode(p)
            out["files"][rel] = "loads"
        except Exception as e:
            out["files"][rel] = "fails: " + first_line(e)
    try:
        epoch()
    except Exception as e:
        out["epoch"] = first_line(e)
    return out


def pandas_read(files):
    try:
        import pandas as pd
    except Exception as e:
        print(f"skipped: pandas is not importable ({type(e).__name__}: {e})", file=sys.stderr)
        sys.exit(3)
    out = {"_versions": {"pandas": pd.__version__}}
    for f in files:
        if f.endswith(".json"):
            with open(f, encoding="utf-8") as fh:
                obj = json.load(fh)
            df = pd.json_normalize(obj)
        else:
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
        out[f] = {"columns": [str(c) for c in df.columns], "rows": len(df),
                  "first_column": [str(v) for v in df.iloc[:, 0]]}
    return out


def importable(loader):
    module = {"keras": "keras", "keras-legacy": "keras", "torch": "torchvision"}[loader]
    try:
        __import__(module)
        if module == "keras":
            import tensorflow  # noqa: F401  (the backend the keras rule follows)
    except Exception as e:  # ImportError, or a broken install
        print(f"skipped: {module} is not importable ({type(e).__name__}: {e})", file=sys.stderr)
        sys.exit(3)


def main():
    if sys.argv[1] == "pandas":
        print(json.dumps(pandas_read(sys.argv[2:])))
        return
    if sys.argv[1] == "dataset":
        loader, d = sys.argv[2], sys.argv[3]
        out_stream, sys.stdout = sys.stdout, sys.stderr
        importable(loader)
        print(json.dumps(dataset(loader, d)), file=out_stream)
        return
    loader, cases = sys.argv[1], sys.argv[2]
    # The loaders print progress ("Found 1 images ..."); stdout carries only the JSON.
    out_stream, sys.stdout = sys.stdout, sys.stderr
    run = {"keras": keras_case, "keras-legacy": legacy_case, "torch": torch_case}[loader]
    module = {"keras": "keras", "keras-legacy": "keras", "torch": "torchvision"}[loader]
    importable(loader)
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
