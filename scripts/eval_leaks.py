#!/usr/bin/env python3
"""Precision and recall of `cleansplit leaks` against ground truth, one row per data set.

Runs the real binary on the reference sets in /work/shared/data (never modified: flat sets are
scanned through a symlink farm WORK/roots/NAME/x/<relpath with / -> __>, because the scanner needs
class folders; cats_vs_dogs_subset and hymenoptera are scanned in place, index and output go to
WORK), then compares WORK/NAME/pairs.csv and groups.csv with scripts/truth/NAME.tsv.

Truth files: tab-separated a, b, kind, polarity, paths relative to the set's ROOT; pos = the same
photo (duplicate), neg = hard negative (e.g. another shot of the same room, a stereo pair). They
were derived from md5, file names and the sets' ground-truth notes (see the GROUND_TRUTH/NOTES
files in the data folders). A family is a connected component of pos pairs. Two more sets carry
their own truth: xray_lookalike (its PLANTED.tsv: copy, original, transform) and the generated
transform set (scripts/make_transform_set.py writes it with TRUTH.tsv; generated into --transforms
if that folder does not exist yet). For those two, recall is also printed per kind of copy.

  reported  pairs in pairs.csv
  true      in-scope pos pairs of the truth
  found     true pairs whose two files are in one reported group
  precision correct / (reported - oos), correct = the two files are a pos pair or in one family
  recall    found / true
  dmax      largest pHash distance among the correct reported pairs (margin to the radius r)
  false     reported pairs that are neither (hard negatives are marked 'hard-neg')
  oos       reported pairs whose truth kind is out of scope (OUT_OF_SCOPE: the ~30 degree
            rotations 'rot30' of imagededup, the 5 degree rotations 'rot5' of the generated set):
            the product does not claim them, so they count neither for recall nor as false
            positives (the per-kind line still shows how many of them were found)

Usage (from the repository root; Python 3.11 standard library only):
  python3 scripts/eval_leaks.py [--bin target/release/cleansplit] [--data ../shared/data]
                                [--work DIR] [--geometric all] [--show N]
                                [--transforms /tmp/cs_transforms] [--sets NAME,...]
                                [--leaks-args '--search sampled --search-bits 26']
"""
import argparse, csv, json, os, subprocess, sys, tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRUTH = Path(__file__).resolve().parent / 'truth'
# Substrings of truth kinds that the matcher does not target. Empty since issue 22: rotations by
# any angle (imagededup's ~30 degree 'rot30', the generated 'rot5', 'rot30_fliplr',
# 'rot200_fliptb') are found through local features (view 'affine'); --out-of-scope restores
# the old exclusions for comparisons with older binaries.
OUT_OF_SCOPE = ()

# name, truth file, data folder, prefix inside it (flat sets) or None (scan the folder as is),
# expectation printed in the last column
SETS = [
    ('imagededup_testdata', 'imagededup', 'imagededup_testdata', '', None),
    ('caltech_101_rand_resize', 'caltech', 'fast_near_duplicate_image_search',
     'datasets/caltech_101_rand_resize/', 'groups'),
    ('perceptualhashes_jl_images', 'pjl', 'perceptualhashes_jl_images', '', None),
    ('twizzle_printscan_pairs', 'twizzle', 'twizzle_printscan_pairs', '', None),
    ('cats_vs_dogs_subset', 'cats_dogs', 'cats_vs_dogs_subset', None, 'cross'),
    ('hymenoptera', 'hymenoptera', 'hymenoptera/hymenoptera_data', None, 'zero'),
    ('package_sample_photos', 'package', 'package_sample_photos', '', 'zero'),
    ('xray_lookalike', 'PLANTED', 'xray_lookalike', None, 'cross-other'),
    ('transforms', 'TRUTH', None, None, 'cross-other'),
    # Keras ImageDataGenerator copies (issue 22): GT.tsv (copy, original, strength), by strength.
    ('keras_augmented', 'GT', 'keras_augmented', None, 'cross-other'),
]
BY_KIND = ('xray_lookalike', 'transforms', 'keras_augmented')
CALTECH_GROUPS = 17


def flat_root(data, base, prefix, work, name):
    """Symlink every manifest file under prefix into WORK/roots/NAME/x/ (as mkroots.py did)."""
    out = work / 'roots' / name / 'x'
    out.mkdir(parents=True, exist_ok=True)
    with open(data / base / '_manifest.tsv', newline='') as f:
        for row in csv.DictReader(f, delimiter='\t'):
            p = row['relpath']
            if not p.startswith(prefix):
                continue
            dst = out / p[len(prefix):].replace('/', '__')
            if not os.path.lexists(dst):
                os.symlink(data / base / p, dst)
    return out.parent


def read_csv(path, **kw):
    with open(path, newline='') as f:
        return list(csv.DictReader(f, **kw))


def key(a, b):
    return (a, b) if a <= b else (b, a)


def families(pos_pairs):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in pos_pairs:
        parent[find(a)] = find(b)
    return find


def truth_rows(name, truth_file, root):
    """(a, b, kind, polarity) rows of a set's truth."""
    if truth_file == 'GT':
        return [(r['copy'], r['original'], r['strength'], 'pos')
                for r in read_csv(root / 'GT.tsv', delimiter='\t')]
    if truth_file == 'PLANTED':
        return [(r['copy'], r['original'], r['transform'], 'pos')
                for r in read_csv(root / 'PLANTED.tsv', delimiter='\t')]
    path = root / 'TRUTH.tsv' if truth_file == 'TRUTH' else TRUTH / f'{truth_file}.tsv'
    return [(r['a'], r['b'], r['kind'], r['polarity']) for r in read_csv(path, delimiter='\t')]


def evaluate(name, truth_file, root, work, args):
    idx, out = work / f'{name}.csv', work / name
    cmd = [str(args.bin), 'leaks', str(root), '--index', str(idx), '--out', str(out), '-q']
    cmd += args.leaks_args.split()
    if args.geometric:
        cmd += ['--geometric', args.geometric]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'{" ".join(cmd)} failed ({run.returncode}):\n{run.stderr}')
    summary = json.loads((out / 'summary.json').read_text())
    pairs = read_csv(out / 'pairs.csv')
    group_of = {r['path']: r['group'] for r in read_csv(out / 'groups.csv')}
    truth = {key(a, b): (kind, pol) for a, b, kind, pol in truth_rows(name, truth_file, root)}
    fam = families(k for k, (_, pol) in truth.items() if pol == 'pos')
    oos = lambda kind: any(o in kind for o in OUT_OF_SCOPE)

    ev = dict(name=name, images=len(read_csv(idx)), hashed=summary['hashed'],
              radius=summary['radius'], reported=len(pairs), false=[], oos=0,
              groups=len(set(group_of.values())),
              cross=sum(r['cross_split'] == 'true' for r in pairs), cross_other=0)
    correct, dmax = 0, []
    for r in pairs:
        a, b = r['path_a'], r['path_b']
        kind, pol = truth.get(key(a, b), ('', ''))
        if pol == 'pos' and oos(kind):
            ev['oos'] += 1
        elif pol == 'pos' or (pol != 'neg' and fam(a) == fam(b)):
            correct += 1
            if r.get('view') != 'affine':  # an affine pair's hash distance is at chance
                dmax.append(int(r.get('distance256') or r['distance']))
            ev['affine'] = ev.get('affine', 0) + (r.get('view') == 'affine')
        else:
            ev['false'].append((r, 'hard-neg ' + kind if pol == 'neg' else 'background'))
            ev['cross_other'] += r['cross_split'] == 'true'
    true = [(k, kind) for k, (kind, pol) in truth.items() if pol == 'pos' and not oos(kind)]
    ev['missed'] = [(k, kind) for k, kind in true
                    if not (k[0] in group_of and group_of[k[0]] == group_of.get(k[1]))]
    ev['true'], ev['found'] = len(true), len(true) - len(ev['missed'])
    ev['by_kind'] = {}  # every pos kind, out-of-scope ones included (their figure is reported)
    for k, (kind, pol) in truth.items():
        if pol != 'pos':
            continue
        n, f = ev['by_kind'].get(kind, (0, 0))
        ev['by_kind'][kind] = (n + 1, f + (k[0] in group_of and group_of[k[0]] == group_of.get(k[1])))
    ev['oos_truth'] = sum(1 for kind, pol in truth.values() if pol == 'pos' and oos(kind))
    ev['dmax'] = max(dmax, default='-')
    judged = ev['reported'] - ev['oos']
    ev['precision'] = correct / judged if judged else None
    ev['recall'] = ev['found'] / ev['true'] if ev['true'] else None
    return ev


def pct(x):
    return '-' if x is None else f'{100 * x:.1f}%'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', type=Path, default=REPO / 'target/release/cleansplit')
    ap.add_argument('--data', type=Path, default=REPO / '../shared/data')
    ap.add_argument('--work', type=Path, help='roots, indexes and outputs (default: a temp dir)')
    ap.add_argument('--geometric', choices=['none', 'flip', 'all'],
                    help='passed to cleansplit (default: the binary\'s default)')
    ap.add_argument('--show', type=int, default=20, help='list false pairs / misses up to N per set')
    ap.add_argument('--transforms', type=Path, default=Path('/tmp/cs_transforms'),
                    help='the generated transform set (made by scripts/make_transform_set.py if absent)')
    ap.add_argument('--sets', help='comma-separated names: evaluate only these sets')
    ap.add_argument('--out-of-scope', default='',
                    help="comma-separated truth-kind substrings to exclude (e.g. 'rot30,rot5' as before issue 22)")
    ap.add_argument('--leaks-args', default='',
                    help="extra arguments for `cleansplit leaks`, e.g. '--search sampled --search-bits 26'"
                         " (the sampled search as it runs at a million images)")
    args = ap.parse_args()
    global OUT_OF_SCOPE
    OUT_OF_SCOPE = tuple(s for s in args.out_of_scope.split(',') if s)
    args.bin, data = args.bin.resolve(), args.data.resolve()
    work = (args.work or Path(tempfile.mkdtemp(prefix='cleansplit_eval_'))).resolve()
    work.mkdir(parents=True, exist_ok=True)

    results = []
    only = set(args.sets.split(',')) if args.sets else None
    for name, truth_file, base, prefix, expect in SETS:
        if only and name not in only:
            continue
        if base is None:
            root = args.transforms.resolve()
            if not (root / 'TRUTH.tsv').exists():
                subprocess.run([sys.executable, str(REPO / 'scripts/make_transform_set.py'),
                                '--data', str(data), '--out', str(root)], check=True)
        else:
            root = data / base if prefix is None else flat_root(data, base, prefix, work, name)
        ev = evaluate(name, truth_file, root, work, args)
        ev['check'] = {'groups': f"groups {ev['groups']} (truth {CALTECH_GROUPS})",
                       'cross': f"cross-split {ev['cross']} (expect 0)",
                       'cross-other': f"other cross-split {ev['cross_other']} (expect 0)",
                       'zero': f"pairs {ev['reported']} (expect 0)"}.get(expect, '')
        results.append(ev)

    print(f'binary {args.bin}  geometric={args.geometric or "default"}  work {work}')
    head = ('set', 'images', 'r', 'dmax', 'reported', 'true', 'found', 'precision', 'recall',
            'false', 'oos', 'check')
    fmt = '{:<27}{:>7}{:>4}{:>5}{:>9}{:>6}{:>6}{:>10}{:>8}{:>6}{:>5}  {}'
    print(fmt.format(*head))
    for ev in results:
        imgs = str(ev['images']) + ('' if ev['hashed'] == ev['images'] else f"({ev['hashed']})")
        print(fmt.format(ev['name'], imgs, ev['radius'], ev['dmax'], ev['reported'], ev['true'], ev['found'],
                         pct(ev['precision']), pct(ev['recall']), len(ev['false']), ev['oos'],
                         ev['check']))
    print(f'images: files in the index (hashed, if fewer); r: radius chosen by the binary; '
          f'dmax: largest (256-bit, if reported) distance among correct reported pairs. '
          f'oos: reported pairs of out-of-scope kinds {OUT_OF_SCOPE}, excluded from precision; '
          f'those truth pairs are excluded from "true" and recall too.')
    print('affine pairs (view affine, through local features) among the correct ones: '
          + ', '.join(f"{ev['name']} {ev.get('affine', 0)}" for ev in results))

    for ev in results:
        if ev['name'] in BY_KIND:
            kinds = ', '.join(f'{k} {f}/{n}' for k, (n, f) in sorted(ev['by_kind'].items()))
            print(f"\n{ev['name']} found by kind: {kinds}")
    for ev in results:
        lines = []
        for r, why in ev['false'][:args.show]:
            lines.append(f"  false  d={r.get('distance256') or r['distance']:>2} {r['match']}/{r['transform']}"
                         f"{' crop' if r['crop'] == 'true' else ''}  {r['path_a']} ~ {r['path_b']}  [{why}]")
        if len(ev['false']) > args.show:
            lines.append(f"  ... {len(ev['false']) - args.show} more false pairs")
        if len(ev['missed']) <= args.show:
            lines += [f'  missed [{kind}]  {a} ~ {b}' for (a, b), kind in ev['missed']]
        else:
            lines.append(f"  missed by kind: {dict(Counter(k for _, k in ev['missed']))}")
        if ev['oos_truth']:
            lines.append(f"  out of scope: {ev['oos']} reported of {ev['oos_truth']} truth pairs")
        if lines:
            print(f"\n{ev['name']}:")
            print('\n'.join(lines))


if __name__ == '__main__':
    main()
