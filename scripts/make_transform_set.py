#!/usr/bin/env python3
"""Generate the transform set of issue 10: originals in train/, one transformed copy each in val/.

Sources (read only): hymenoptera (all JPEGs of train/ and val/, the GIF placeholder left out) and
package_sample_photos (every image). Each original is linked (symlink, never copied or changed)
as OUT/train/<class>/<name>; the originals are shuffled with a fixed seed and dealt round-robin
over the KINDS below, and each gets one copy OUT/val/<class>/c_NNNN.<ext>, so every kind has
about 1/len(KINDS) of the originals. OUT/TRUTH.tsv lists `a b kind polarity` (paths relative to
OUT, `pos` for every copy), in the format of scripts/truth/*.tsv, plus the stereo pair of the
package set as a hard negative. Nothing is ever written outside OUT.

  half_q85     50% resize (Lanczos) + JPEG q85
  half_q75     50% resize + JPEG q75 (the reference copy of the calibration rule)
  jpeg_q40     JPEG q40 at full size
  half_png     50% resize, PNG
  bright1.3    ImageEnhance.Brightness(1.3), JPEG q90
  contrast0.7  ImageEnhance.Contrast(0.7), JPEG q90
  gray         grayscale (L), JPEG q90
  flip_h       left-right mirror, JPEG q90
  rot90        quarter turn (90 degrees counter-clockwise), JPEG q90
  border10     10% white border on every side, JPEG q90
  crop90       central 90% x 90%, JPEG q90
  crop75       central 75% x 75%, JPEG q90
  rot5         5 degree rotation (bicubic, same size, black corners), JPEG q90
  rot30_fliplr 30 degree rotation (same size, black corners), then left-right mirror, JPEG q90
               (PlantVillage-augmented's `_new30degFlipLR`)
  rot200_fliptb 200 degree rotation (same size, black corners), then top-bottom mirror, JPEG q90
               (PlantVillage-augmented's `_new200degFlipTB`)

Usage: python3 scripts/make_transform_set.py [--data ../shared/data] [--out /tmp/cs_transforms]
Needs Pillow (`pip install pillow`). Deterministic: the same sources give the same set.
"""
import argparse, csv, os, random, shutil
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

REPO = Path(__file__).resolve().parent.parent
SEED = 20261129


def half(im):
    return im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.LANCZOS)


def crop(im, frac):
    w, h = im.size
    dx, dy = round(w * (1 - frac) / 2), round(h * (1 - frac) / 2)
    return im.crop((dx, dy, w - dx, h - dy))


def border(im, frac):
    w, h = im.size
    bx, by = round(w * frac), round(h * frac)
    out = Image.new(im.mode, (w + 2 * bx, h + 2 * by), 'white')
    out.paste(im, (bx, by))
    return out


# kind -> (function of an RGB or L image, format, save options)
KINDS = {
    'half_q85': (half, 'JPEG', dict(quality=85)),
    'half_q75': (half, 'JPEG', dict(quality=75)),
    'jpeg_q40': (lambda im: im, 'JPEG', dict(quality=40)),
    'half_png': (half, 'PNG', {}),
    'bright1.3': (lambda im: ImageEnhance.Brightness(im).enhance(1.3), 'JPEG', dict(quality=90)),
    'contrast0.7': (lambda im: ImageEnhance.Contrast(im).enhance(0.7), 'JPEG', dict(quality=90)),
    'gray': (lambda im: im.convert('L'), 'JPEG', dict(quality=90)),
    'flip_h': (ImageOps.mirror, 'JPEG', dict(quality=90)),
    'rot90': (lambda im: im.transpose(Image.Transpose.ROTATE_90), 'JPEG', dict(quality=90)),
    'border10': (lambda im: border(im, 0.10), 'JPEG', dict(quality=90)),
    'crop90': (lambda im: crop(im, 0.90), 'JPEG', dict(quality=90)),
    'crop75': (lambda im: crop(im, 0.75), 'JPEG', dict(quality=90)),
    'rot5': (lambda im: im.rotate(5, resample=Image.BICUBIC), 'JPEG', dict(quality=90)),
    'rot30_fliplr': (lambda im: ImageOps.mirror(im.rotate(30, resample=Image.BICUBIC)), 'JPEG',
                     dict(quality=90)),
    'rot200_fliptb': (lambda im: ImageOps.flip(im.rotate(200, resample=Image.BICUBIC)), 'JPEG',
                      dict(quality=90)),
}


def sources(data):
    """(path, class, link name) of every original."""
    out = []
    hym = data / 'hymenoptera' / 'hymenoptera_data'
    for p in sorted(hym.rglob('*')):
        if p.is_file() and p.suffix.lower() in ('.jpg', '.jpeg'):
            split, cls = p.relative_to(hym).parts[:2]
            out.append((p, cls, f'{split}__{p.name}'))
    pkg = data / 'package_sample_photos'
    with open(pkg / '_manifest.tsv', newline='') as f:
        for row in csv.DictReader(f, delimiter='\t'):
            rel = row['relpath']
            out.append((pkg / rel, 'photos', rel.replace('/', '__')))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', type=Path, default=REPO / '../shared/data')
    ap.add_argument('--out', type=Path, default=Path('/tmp/cs_transforms'))
    args = ap.parse_args()
    data, out = args.data.resolve(), args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    srcs = sources(data)
    order = list(range(len(srcs)))
    random.Random(SEED).shuffle(order)
    kinds = list(KINDS)
    truth = []
    for n, i in enumerate(order):
        path, cls, name = srcs[i]
        orig = out / 'train' / cls / name
        orig.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, orig)
        kind = kinds[n % len(kinds)]
        fn, fmt, opts = KINDS[kind]
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            base = im.convert('L') if im.mode in ('L', 'I;16', 'I', 'LA') else im.convert('RGB')
            copy = fn(base)
        ext = 'jpg' if fmt == 'JPEG' else 'png'
        dst = out / 'val' / cls / f'c_{n:04d}.{ext}'
        dst.parent.mkdir(parents=True, exist_ok=True)
        copy.save(dst, fmt, **opts)
        truth.append((str(orig.relative_to(out)), str(dst.relative_to(out)), kind, 'pos'))
    stereo = [f'train/photos/scikit-image-0.26.0__motorcycle_{s}.png' for s in ('left', 'right')]
    truth.append((stereo[0], stereo[1], 'stereo', 'neg'))
    with open(out / 'TRUTH.tsv', 'w', newline='') as f:
        w = csv.writer(f, delimiter='\t', lineterminator='\n')
        w.writerow(('a', 'b', 'kind', 'polarity'))
        w.writerows(truth)
    print(f'{len(srcs)} originals, {len(truth) - 1} copies ({len(kinds)} kinds) in {out}')


if __name__ == '__main__':
    main()
