#!/usr/bin/env bash
# Runs two cleansplit binaries on testdata/demo (every command, text and JSON, and every file
# they write) and diffs the results. Used to prove a refactor changes no output.
#
#   scripts/compare_outputs.sh OLD_BIN NEW_BIN [SAVE_DIR]
#
# Exit 0 when all outputs are byte-identical after masking the run's temporary folder and
# timings ("time" lines, *seconds* JSON fields, report.html's generated-at line). With SAVE_DIR
# the normalised outputs of OLD_BIN stay there (golden copy). Needs only bash, diff and sed.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 OLD_BIN NEW_BIN [SAVE_DIR]" >&2
    exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
root=$(realpath "$(dirname "$0")/../testdata/demo")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_all BIN DIR: every command on the demo set, stdout/stderr/exit code per run, outputs in DIR.
run_all() {
    local bin=$1 dir=$2
    mkdir -p "$dir"
    local idx="$dir/index.csv"
    run() {
        local name=$1
        shift
        local rc=0
        "$bin" "$@" >"$dir/$name.stdout" 2>"$dir/$name.stderr" || rc=$?
        echo "$rc" >"$dir/$name.rc"
    }
    run scan "scan" "$root" --index "$idx" -q
    run leaks "leaks" "$root" --index "$idx" -q --out "$dir/leaks_out"
    run leaks_json "leaks" "$root" --index "$idx" -q --format json --out "$dir/leaks_json_out"
    run balance "balance" "$root" --index "$idx" -q --out "$dir/class_weights.json"
    run balance_json "balance" "$root" --index "$idx" -q --format json --out "$dir/class_weights_json.json"
    run split "split" "$root" "$dir/split_out" --index "$idx" -q --mode manifest
    run split_copy "split" "$root" "$dir/split_copy_out" --index "$idx" -q --ratio 0.7,0.2,0.1 --names a,b,c
    run split_kfold "split" "$root" "$dir/split_kfold_out" --index "$idx" -q --mode manifest --kfold 3
    run audit "audit" "$root" --index "$idx" -q --out "$dir/audit_out"
    run audit_json "audit" "$root" --index "$idx" -q --format json --out "$dir/audit_json_out"
    run audit_fail "audit" "$root" --index "$idx" -q --fail-on any
    # Mask this run's folder and timings so two runs of one binary compare equal.
    find "$dir" -type f -print0 | while IFS= read -r -d '' f; do
        sed -i -E \
            -e "s#$dir#@OUT@#g" \
            -e 's#^(time +).*#\1@TIME@#' \
            -e 's#in [0-9.]+ s\b#in @TIME@ s#g' \
            -e 's#("[a-z_]*(seconds|secs|elapsed|time)[a-z_]*": *)[0-9.e+-]+#\1@TIME@#g' \
            -e 's#(Generated|generated)[^<]*#\1 @TIME@#g' \
            "$f"
    done
}

# Both run as `cleansplit` (the name shows in usage messages).
mkdir -p "$work/bin-old" "$work/bin-new"
cp "$old" "$work/bin-old/cleansplit"
cp "$new" "$work/bin-new/cleansplit"
run_all "$work/bin-old/cleansplit" "$work/old"
run_all "$work/bin-new/cleansplit" "$work/new"
# The index holds file times and is checked by content: compare it as written.
if [ $# -ge 3 ]; then
    rm -rf "$3"
    cp -r "$work/old" "$3"
fi
if diff -r "$work/old" "$work/new"; then
    echo "identical: $(find "$work/old" -type f | wc -l) outputs of $old and $new"
else
    echo "outputs differ (see diff above)" >&2
    exit 1
fi
