#!/usr/bin/env bash
# gust's comparison suite, one command:   bash bench/run.sh
#
# Runs every workload of DESIGN.md's speed bar on gust, tokio, smol, flume and
# kanal (and the WaitGroup fan-in on the wg and awaitgroup crates too; the
# child-context row on gust and tokio-util) (cargo bench --bench compare), memory per idle task (cargo bench
# --bench memory), the same workloads in Go (bench/go, when a `go` toolchain
# is found; once per round, after the round's Rust rows), at 1 worker and at
# all cores, then writes bench/results.md (the
# table) and bench/results.svg (the chart) with bench/report.py. A runtime that
# is missing or fails its own check shows as n/a or FAIL; the script goes on.
#
# Environment (all optional):
#   GUST_BENCH_WORKERS=1,2,4,8,16  worker counts (default: 1 and all cores)
#   GUST_BENCH_ONLY=spawn,sieve    only these workloads (substring match)
#   GUST_BENCH_RUNTIMES=gust,tokio only these Rust runtimes
#   GUST_BENCH_QUICK=1             sizes / 10: a smoke run of a minute or two
#   GUST_BENCH_NO_GO=1             skip Go;  GUST_BENCH_NO_MEMORY=1  skip memory
#   GUST_BENCH_ROUNDS=3            run the Rust suite this many times; each
#                                  row's median pools the samples of all rounds
#                                  (a burst of load from other tenants of a
#                                  shared machine then hits one runtime in one
#                                  round, not the whole row); 1 = one pass
#   GUST_BENCH_MEASURE_MS=1000     measurement time per runtime and row
#   GUST_BENCH_INTERLEAVE=1        the runtimes of a row take turns, ~50 ms
#                                  each (0: criterion measures them one
#                                  after the other); see bench/README.md
#   GUST_BENCH_PROCESS=1           each runtime of a row in its own process
#                                  (a child of the bench binary), as a user's
#                                  program runs; 0: all in the bench's process
#   GUST_BENCH_OUT=bench/out       raw results (criterion JSON, logs, TSVs)
#   GUST_BENCH_NO_README=1         leave README.md's copy of the table alone
#   GUST_BENCH_MD, GUST_BENCH_SVG  where the table and chart go
#                                  (default bench/results.md, bench/results.svg)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${GUST_BENCH_OUT:-$ROOT/bench/out}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
rm -rf "$OUT"
mkdir -p "$OUT"
export GUST_BENCH_OUT=$OUT
ROUNDS=${GUST_BENCH_ROUNDS:-3}
export GUST_BENCH_INTERLEAVE=${GUST_BENCH_INTERLEAVE:-1}
export GUST_BENCH_PROCESS=${GUST_BENCH_PROCESS:-1}
ALL=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if [ -z "${GUST_BENCH_WORKERS:-}" ]; then
    if [ "$ALL" -gt 1 ]; then GUST_BENCH_WORKERS=1,$ALL; else GUST_BENCH_WORKERS=1; fi
fi
export GUST_BENCH_WORKERS
NOTES=$OUT/notes.txt
: >"$NOTES"
start=$(date +%s)
LOAD0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
echo "== gust bench: workers $GUST_BENCH_WORKERS, raw results in $OUT"

# Go (bench/go) runs once per round, right after that round's Rust rows,
# so that a slow spell of the machine does not fall on Go alone; its column
# is the median of the rounds (bench/report.py).
GO=$(command -v go || true)
if [ -z "$GO" ]; then
    for g in /usr/lib/go/bin/go /usr/local/go/bin/go $(ls -d /usr/lib/go-*/bin/go 2>/dev/null | sort -V -r); do
        if [ -x "$g" ]; then GO=$g; break; fi
    done
fi
GOBIN=
if [ -n "${GUST_BENCH_NO_GO:-}" ]; then
    echo "Go skipped (GUST_BENCH_NO_GO)" | tee -a "$NOTES"
elif [ -z "$GO" ]; then
    echo "Go: no go toolchain found (install golang-go, e.g. Debian's golang-1.19-go), so the Go columns are n/a" | tee -a "$NOTES"
else
    if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then export GOCACHE=$OUT/gocache; fi
    if (cd bench/go && "$GO" build -o "$OUT/gustbench" .) 2>"$OUT/go.log"; then
        GOBIN=$OUT/gustbench
        echo "Go: $("$GO" version | cut -d' ' -f3)" >>"$NOTES"
    else
        echo "Go: bench/go did not build (see $OUT/go.log)" | tee -a "$NOTES"
    fi
fi
GOQUICK=""
if [ -n "${GUST_BENCH_QUICK:-}" ] && [ "${GUST_BENCH_QUICK}" != 0 ]; then GOQUICK=-quick; fi
: >"$OUT/go.tsv"

for r in $(seq 1 "$ROUNDS"); do
    echo "== cargo bench --bench compare (round $r of $ROUNDS)"
    CRITERION_HOME=$OUT/criterion/round$r cargo bench --bench compare 2>&1 | tee "$OUT/compare-$r.log" \
        | grep --line-buffered -E "time:|FAIL|panicked at|^error"
    if [ "${PIPESTATUS[0]}" != 0 ]; then
        echo "cargo bench --bench compare did not finish cleanly in round $r (see $OUT/compare-$r.log); rows it did not reach have fewer samples or are n/a" | tee -a "$NOTES"
    fi
    if [ -n "$GOBIN" ]; then
        echo "== Go, round $r of $ROUNDS"
        # One line per workload and worker count; the report takes the
        # median of the rounds' lines.
        "$GOBIN" -workers "$GUST_BENCH_WORKERS" -only "${GUST_BENCH_ONLY:-}" $GOQUICK >"$OUT/go-$r.tsv" 2>>"$OUT/go.log" \
            || echo "Go: bench/go failed in round $r (see $OUT/go.log)" | tee -a "$NOTES"
        tee -a "$OUT/go.tsv" <"$OUT/go-$r.tsv"
    fi
done

if [ -z "${GUST_BENCH_NO_MEMORY:-}" ]; then
    echo "== cargo bench --bench memory"
    if ! cargo bench --bench memory >"$OUT/memory.tsv" 2>"$OUT/memory.log"; then
        echo "cargo bench --bench memory failed (see $OUT/memory.log)" | tee -a "$NOTES"
    fi
    grep -E "^(memory|chanmem)" "$OUT/memory.tsv" || true
fi

if [ -n "$GOBIN" ] && [ -z "${GUST_BENCH_NO_MEMORY:-}" ]; then
    "$GOBIN" -mem >>"$OUT/memory.tsv" 2>>"$OUT/go.log" \
        || echo "Go: memory run failed (see $OUT/go.log)" | tee -a "$NOTES"
fi

secs=$(( $(date +%s) - start ))
WALL="$((secs / 60)) min $((secs % 60)) s"
CPU=$(grep -m1 "model name" /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')
LOAD1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
MACHINE="$ALL cores${CPU:+ ($CPU)}, workers $GUST_BENCH_WORKERS, $ROUNDS round(s), $(rustc --version 2>/dev/null | cut -d' ' -f1-2), load average $LOAD0 at the start and $LOAD1 at the end (above 1 on an idle machine means other work shared the cores)"
echo "== report (the run took $WALL)"
python3 bench/report.py --out "$OUT" \
    --md "${GUST_BENCH_MD:-$ROOT/bench/results.md}" --svg "${GUST_BENCH_SVG:-$ROOT/bench/results.svg}" \
    --wall "$WALL" --machine "$MACHINE"

# The README shows the same table: splice it between its markers (skipped
# when the table goes elsewhere, or with GUST_BENCH_NO_README=1).
if [ -z "${GUST_BENCH_MD:-}" ] && [ -z "${GUST_BENCH_NO_README:-}" ]; then
    python3 bench/report.py --readme README.md --md "$ROOT/bench/results.md" \
        && echo "README.md: performance table updated"
fi
