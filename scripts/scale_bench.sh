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
set -euo pipefail

N=${1:?usage: scale_bench.sh N [WORK]}
WORK=${2:-/tmp/cleansplit-scale}
JOBS=${JOBS:-2}
LIMIT=${LIMIT:-1800}
COPIES=${COPIES:-$((N / 100))}
BIG_GROUP=${BIG_GROUP:-0}
here=$(cd "$(dirname "$0")/.." && pwd)

bin=${BIN:-$here/target/release/cleansplit}
synth=${SYNTH:-$here/target/release/examples/synth}
if [[ -z "${BIN:-}" ]]; then
    export CARGO_PROFILE_RELEASE_INCREMENTAL=true
    cargo build --release --quiet --manifest-path "$here/Cargo.toml" --bin cleansplit --example synth
fi

data="$WORK/synth-$N"
if [[ ! -f "$data/index.csv" ]]; then
    rm -rf "$data"
    mkdir -p "$WORK"
    "$synth" "$data" --n "$N" --copies "$COPIES" --big-group "$BIG_GROUP"
fi
# The index is rewritten by commands that rescan; keep the generated one pristine.
cp "$data/index.csv" "$data/run-index.csv"
index="$data/run-index.csv"

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
row "leaks" "$bin" leaks "$data/root" "${common[@]}" --out "$data/leaks-out"
row "balance" "$bin" balance "$data/root" "${common[@]}" --out "$data/class_weights.json"
rm -rf "$data/split-out"
row "split --mode manifest" "$bin" split "$data/root" "$data/split-out" --mode manifest "${common[@]}"
echo
grep -h -m1 -i "radius" "$data/leaks.out" || true

if [[ "${KEEP:-0}" != 1 ]]; then
    rm -rf "$data"
fi
