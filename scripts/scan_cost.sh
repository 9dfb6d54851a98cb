#!/usr/bin/env bash
# Scan cost against a baseline and czkawka, in the same run (issue 22's budget: the scan's CPU
# at most 2.5x the pre-features binary's, and below czkawka_cli's).
#
#   scripts/scan_cost.sh BASE_BIN [NEW_BIN] [REPS]
#
# BASE_BIN: a cleansplit built before the local features (e.g. `git worktree add /tmp/base
# e4747bb && cargo build --release` there); NEW_BIN defaults to target/release/cleansplit;
# REPS (default 3) runs per binary and set, alternating the binaries so a slow minute hits all
# of them. CZKAWKA (default: czkawka_cli on PATH, skipped if missing) runs `image -m 1 -H`
# (every file, no cache) on the same folders. DATA defaults to ../shared/data.
# Prints per set and tool the median CPU seconds (user + sys), fresh index each run, and the
# totals with their ratio to BASE.
set -euo pipefail

base=${1:?usage: scan_cost.sh BASE_BIN [NEW_BIN] [REPS]}
here=$(cd "$(dirname "$0")/.." && pwd)
new=${2:-$here/target/release/cleansplit}
reps=${3:-3}
data=${DATA:-$here/../shared/data}
czkawka=${CZKAWKA:-$(command -v czkawka_cli || true)}
sets=(cats_vs_dogs_subset hymenoptera)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cpu() { # command... -> user+sys seconds
    /usr/bin/time -f '%U %S' -o "$work/t" "$@" >/dev/null 2>&1 || true
    awk '{ printf "%.2f\n", $1 + $2 }' "$work/t"
}

: >"$work/runs"
for _ in $(seq "$reps"); do
    for set in "${sets[@]}"; do
        for tool in base new czkawka; do
            case $tool in
            base | new)
                bin=$base
                [[ $tool == new ]] && bin=$new
                rm -rf "$work/idx"
                t=$(cpu "$bin" scan "$data/$set" --index "$work/idx/index.csv" -q)
                ;;
            czkawka)
                [[ -z "$czkawka" ]] && continue
                t=$(cpu "$czkawka" image -d "$(cd "$data/$set" && pwd)" -m 1 -H -N -M -W)
                ;;
            esac
            echo "$tool $set $t" >>"$work/runs"
        done
    done
done

[[ -z "$czkawka" ]] && echo "skipped: czkawka_cli not found (set CZKAWKA=path)"
python3 - "$work/runs" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, s, t = line.split()
    runs[(tool, s)].append(float(t))
total = collections.defaultdict(float)
print('| tool | set | CPU s (median) | runs |')
print('|---|---|---|---|')
for (tool, s), v in sorted(runs.items()):
    m = statistics.median(v)
    total[tool] += m
    print(f'| {tool} | {s} | {m:.2f} | {" ".join(f"{x:.2f}" for x in v)} |')
print()
for tool, t in total.items():
    print(f'{tool}: {t:.2f} s CPU in all, {t / total["base"]:.2f}x base')
PY
