#!/usr/bin/env bash
# Scale benchmark: wall time and peak RSS of every command on a synthetic dataset of N images.
#
#   scripts/scale_bench.sh N [WORK]        e.g. scripts/scale_bench.sh 1000000 /tmp/cs-scale
#
# Generates WORK/synth-N with `examples/synth.rs` (N hard links to a few small JPEGs and a
# matching index with random hashes; N/100 planted copies, 40% byte-identical and 60% near, most
# of them across splits; BIG_GROUP=K adds K byte-identical records), then runs, each as its own
# process under /usr/bin/time:
#   scan (all records reused, nothing decoded; run twice: the second is the unchanged rescan),
#   leaks, balance, split --mode manifest.
# Prints a Markdown table: command, wall seconds, CPU seconds (user + sys: what the command
# costs when other work shares the cores), peak RSS (MB), bytes per image (peak RSS / N). Every record is
# reused, so this measures the index and the analyses, not hashing (see `cargo bench --bench
# scan` for that). Disk: about 0.2 KB of inodes/dirents per link plus ~190 bytes of index per
# image (1M images: ~0.5 GB). KEEP=1 keeps WORK/synth-N for another run; otherwise it is deleted.
# JOBS (default 2) sets --jobs; LIMIT (default 1800) stops a command after that many seconds.
# BIN=path/to/cleansplit SYNTH=path/to/synth skip the build (to measure another build, e.g. a
# copy of main's binaries).
# PLANT=8,12,16,20,24,28,32,36,40,44 (PER_DISTANCE=1000 each) also plants far copies at those
# exact 256-bit distances (`synth --plant`, listed in planted.csv) and prints, after the table,
# the share of each distance that `leaks` found in its pairs.csv. LEAKS_ARGS adds options to
# `leaks` (e.g. "--search-rounds 2"); ONLY=leaks runs the scans and `leaks` alone.
# The local-features sidecar is written too, so no scan decodes the images for features:
# empty entries (`synth --features-per-image 0`, 30 bytes per image) unless PLANT_AFFINE=K
# (issue 22): then 300 random keypoints per image (~12 KB per image on disk) with K augmented
# copies planted (`synth --plant-affine`), scored as distance `affine`, and `leaks` runs the
# affine search (temporary key files beside the index).
set -euo pipefail

N=${1:?usage: scale_bench.sh N [WORK]}
WORK=${2:-/tmp/cleansplit-scale}
JOBS=${JOBS:-2}
LIMIT=${LIMIT:-1800}
COPIES=${COPIES:-$((N / 100))}
BIG_GROUP=${BIG_GROUP:-0}
PLANT=${PLANT:-}
PER_DISTANCE=${PER_DISTANCE:-1000}
PLANT_AFFINE=${PLANT_AFFINE:-}
read -r -a leaks_args <<<"${LEAKS_ARGS:-}"
here=$(cd "$(dirname "$0")/.." && pwd)

bin=${BIN:-$here/target/release/cleansplit}
synth=${SYNTH:-$here/target/release/examples/synth}
if [[ -z "${BIN:-}" ]]; then
    export CARGO_PROFILE_RELEASE_INCREMENTAL=true
    cargo build --release --quiet --manifest-path "$here/Cargo.toml" --bin cleansplit --example synth
fi

data="$WORK/synth-$N${PLANT:+-planted}${PLANT_AFFINE:+-affine}"
if [[ ! -f "$data/index.csv" ]]; then
    rm -rf "$data"
    mkdir -p "$WORK"
    plant=()
    [[ -n "$PLANT" ]] && plant=(--plant "$PLANT" --per-distance "$PER_DISTANCE")
    if [[ -n "$PLANT_AFFINE" ]]; then
        plant+=(--plant-affine "$PLANT_AFFINE")
    else
        plant+=(--features-per-image 0)
    fi
    "$synth" "$data" --n "$N" --copies "$COPIES" --big-group "$BIG_GROUP" "${plant[@]}"
fi
# The index is rewritten by commands that rescan; keep the generated one pristine.
cp "$data/index.csv" "$data/run-index.csv"
index="$data/run-index.csv"
# The sidecar is only read (a rescan that keeps it unchanged does not rewrite it): a link.
if [[ -f "$data/index.csv.features" ]]; then
    ln -f "$data/index.csv.features" "$data/run-index.csv.features"
fi

row() { # name, then the command
    local name=$1
    shift
    local log="$data/time.log" status=0
    # A command that runs past LIMIT seconds is stopped and reported as such, so one slow
    # command does not hide the others' figures.
    /usr/bin/time -f '%e %U %S %M' -o "$log" timeout "$LIMIT" "$@" \
        >"$data/$name.out" 2>"$data/$name.err" || status=$?
    # time(1) writes "Command exited with non-zero status N" above the figures on failure.
    read -r wall user sys kb < <(tail -n 1 "$log")
    local note=""
    if [[ $status == 124 ]]; then
        note=" (stopped after ${LIMIT} s)"
    elif [[ $status != 0 ]]; then
        note=" (failed, exit $status)"
        echo "$name failed (exit $status):" >&2
        tail -5 "$data/$name.err" >&2
    fi
    printf '| `%s`%s | %s | %s | %.0f | %.0f |\n' "$name" "$note" "$wall" \
        "$(echo "$user + $sys" | bc)" "$((kb / 1024))" "$(echo "$kb * 1024 / $N" | bc)"
}

echo "N = $N records, $COPIES planted copies, big group $BIG_GROUP, --jobs $JOBS, $(nproc) cores"
echo
echo '| command | wall s | CPU s (user+sys) | peak RSS MB | bytes / image |'
echo '|---|---|---|---|---|'
common=(--index "$index" -q -j "$JOBS")
row "scan" "$bin" scan "$data/root" "${common[@]}"
row "scan (unchanged rescan)" "$bin" scan "$data/root" "${common[@]}"
rm -rf "$data/leaks-out"
row "leaks" "$bin" leaks "$data/root" "${common[@]}" "${leaks_args[@]}" --out "$data/leaks-out"
if [[ "${ONLY:-}" != leaks ]]; then
    row "balance" "$bin" balance "$data/root" "${common[@]}" --out "$data/class_weights.json"
    rm -rf "$data/split-out"
    row "split --mode manifest" "$bin" split "$data/root" "$data/split-out" --mode manifest "${common[@]}"
fi
echo
grep -h -m1 -i "radius" "$data/leaks.out" || true
grep -h -i "search\|estimated\|effort" "$data/leaks.out" | head -4 || true

if [[ -f "$data/planted.csv" && -f "$data/leaks-out/pairs.csv" ]]; then
    # Recall by distance: a planted pair counts as found when pairs.csv lists it (either order).
    echo
    echo '| planted distance (bits) | found | share |'
    echo '|---|---|---|'
    awk -F, 'FNR == 1 { next }
        FNR == NR { d[$1 "," $2] = $3; d[$2 "," $1] = $3; n[$3]++; next }
        ($1 "," $2) in d { hit[d[$1 "," $2]]++ }
        END { for (k in n) printf "| %s | %d/%d | %.1f%% |\n", k, hit[k], n[k], 100 * hit[k] / n[k] }' \
        "$data/planted.csv" "$data/leaks-out/pairs.csv" | sort -t'|' -k2 -n
fi

if [[ "${KEEP:-0}" != 1 ]]; then
    rm -rf "$data"
fi
