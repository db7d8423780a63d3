#!/bin/sh
# Runs the fuzz targets (all, or those named) one after the other, each to $RUNS executions
# (10 million unless set) in one process on one core, then minimises its corpus. The seeds
# (fuzz/seeds/<target>, readable inputs written by hand) join the corpus first. No sanitizer:
# overflow checks and debug assertions are on (cargo fuzz's default release build), which is
# what a Rust parser can get wrong. Needs `cargo +nightly install cargo-fuzz --locked`.
#
#     fuzz/run.sh                   # every target, 10 million executions each
#     RUNS=100000 fuzz/run.sh phone # one target, briefly
#     MAX_TIME=150 fuzz/run.sh      # each target for at most 150 seconds
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10000000}
MAX_TIME=${MAX_TIME:-0}
LOGS=${LOGS:-target/fuzz-logs}
mkdir -p "$LOGS"
HOST=$(rustc +nightly -vV | sed -n 's/^host: //p')
failed=0
targets=${*:-$(ls fuzz/fuzz_targets | sed 's/\.rs$//')}
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    cp fuzz/seeds/"$t"/* "fuzz/corpus/$t/"
    cargo +nightly fuzz run -s none "$t" "fuzz/corpus/$t" -- \
        -runs="$RUNS" -max_total_time="$MAX_TIME" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$LOGS/$t.log" 2>&1 || {
        echo "$t: CRASH, see $LOGS/$t.log and fuzz/artifacts/$t/"
        failed=1
        continue
    }
    # Minimised by edges (not hit counts, which keep thousands of files): a few hundred left.
    rm -rf "fuzz/corpus/$t.min" && mkdir "fuzz/corpus/$t.min"
    "fuzz/target/$HOST/release/$t" -set_cover_merge=1 -use_counters=0 -use_value_profile=0 \
        "fuzz/corpus/$t.min" "fuzz/corpus/$t" >"$LOGS/$t.cmin.log" 2>&1
    rm -rf "fuzz/corpus/$t" && mv "fuzz/corpus/$t.min" "fuzz/corpus/$t"
    printf '%s: %s executions, %s files kept\n' "$t" \
        "$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log")" \
        "$(ls "fuzz/corpus/$t" | wc -l)"
done
exit $failed
