#!/usr/bin/env bash
# Network benchmark: echo and chat servers on gust, tokio, smol and Go, all
# driven by the same load generator (target/release/loadgen).
#
#   bash bench/net/run.sh                      # everything, ~9 minutes
#   SECS=1 REPS=1 SERVERS="tokio smol go" bash bench/net/run.sh
#
# Env: SERVERS (default "gust tokio smol go"), REPS (3), SECS (3), WARMUP (1),
#      WORKER_COUNTS ("1 2"), ROWS ("echo:1 echo:50 echo:500 chat:10 chat:50"),
#      SIZE (64), LOADGEN_THREADS (2), GO (path to the go tool).
# Output: out/results.tsv (one line per run), out/raw.log, results.md.
set -u
cd "$(dirname "$0")"
HERE=$(pwd)

SERVERS=${SERVERS:-"gust tokio smol go"}
REPS=${REPS:-3}
SECS=${SECS:-3}
WARMUP=${WARMUP:-1}
WORKER_COUNTS=${WORKER_COUNTS:-"1 2"}
ROWS=${ROWS:-"echo:1 echo:50 echo:500 chat:10 chat:50"}
SIZE=${SIZE:-64}
LOADGEN_THREADS=${LOADGEN_THREADS:-2}
if [ -z "${GO:-}" ]; then
    if command -v go >/dev/null 2>&1; then GO=go; else GO=/usr/lib/go-1.19/bin/go; fi
fi

log() { echo "[run.sh] $*" >&2; }

# ---- build -----------------------------------------------------------------
want_gust=0
case " $SERVERS " in *" gust "*) want_gust=1 ;; esac
if [ $want_gust = 1 ]; then
    if ! cargo build --release; then
        log "WARNING: the gust servers do not build; going on without gust"
        SERVERS=$(echo " $SERVERS " | sed 's/ gust / /; s/^ *//; s/ *$//')
        want_gust=0
    fi
fi
if [ $want_gust = 0 ]; then
    cargo build --release --no-default-features || { log "cargo build failed"; exit 1; }
fi
case " $SERVERS " in *" go "*)
    mkdir -p target/go
    if ! (cd go && GOFLAGS=-mod=mod GOPROXY=off "$GO" build -o ../target/go/echo_go ./echo \
            && GOFLAGS=-mod=mod GOPROXY=off "$GO" build -o ../target/go/chat_go ./chat); then
        log "WARNING: go build failed; going on without go"
        SERVERS=$(echo " $SERVERS " | sed 's/ go / /; s/^ *//; s/ *$//')
    fi
    ;;
esac
read -r -a SRV <<<"$SERVERS"
[ ${#SRV[@]} -gt 0 ] || { log "no servers left to run"; exit 1; }
log "servers: ${SRV[*]}; rows: $ROWS; workers: $WORKER_COUNTS; reps: $REPS; secs: $SECS (+$WARMUP warm-up)"

server_bin() { # mode server
    case $2 in
        go) echo "$HERE/target/go/$1_go" ;;
        *) echo "$HERE/target/release/$1_$2" ;;
    esac
}

mkdir -p out
TSV=out/results.tsv
RAW=out/raw.log
printf 'row\tworkers\tserver\trep\trps\tp50_us\tp99_us\terrors\tcpu_us_rt\tcores\n' >"$TSV"
: >"$RAW"
LGOUT=out/loadgen.out

# CPU time (ns) of every thread of process $1 so far: the first field of
# each thread's schedstat (what it has run, precisely; /proc/PID/stat
# counts in 10 ms ticks). %.0f: mawk's %d stops at 2^31 ns.
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

field() { # name line
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# ---- runs ------------------------------------------------------------------
for row in $ROWS; do
    mode=${row%%:*}
    conns=${row##*:}
    for workers in $WORKER_COUNTS; do
        for ((rep = 1; rep <= REPS; rep++)); do
            n=${#SRV[@]}
            for ((k = 0; k < n; k++)); do
                server=${SRV[$(((k + rep - 1) % n))]}
                bin=$(server_bin "$mode" "$server")
                coproc SRVPROC { WORKERS=$workers exec "$bin" --addr 127.0.0.1:0 2>>"$HERE/$RAW"; }
                spid=$SRVPROC_PID
                addr=
                if read -r -t 15 tag a <&"${SRVPROC[0]}" && [ "$tag" = LISTENING ]; then
                    addr=$a
                fi
                if [ -z "$addr" ]; then
                    log "$server $mode did not print LISTENING; skipped"
                    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
                    continue
                fi
                timeout $((${SECS%.*} + ${WARMUP%.*} + 60)) \
                    target/release/loadgen --addr "$addr" --mode "$mode" --conns "$conns" \
                    --secs "$SECS" --warmup "$WARMUP" --size "$SIZE" --threads "$LOADGEN_THREADS" \
                    2>>"$RAW" >"$LGOUT" &
                lgpid=$!
                # The server's CPU time over the measured window (from the
                # end of the warm-up, counted from loadgen's start rather
                # than from its last connect: the two windows differ by the
                # connect time), for its cost per round trip; it moves with
                # where the kernel put the threads too, less than throughput
                # (README.md).
                sleep "$WARMUP"
                c0=$(cpu_ns "$spid"); t0=$(date +%s%N)
                sleep "$SECS"
                c1=$(cpu_ns "$spid"); t1=$(date +%s%N)
                wait "$lgpid"
                res=$(grep '^RESULT' "$LGOUT")
                kill "$spid" 2>/dev/null
                wait "$spid" 2>/dev/null
                echo "$row workers=$workers server=$server rep=$rep $res" >>"$RAW"
                if [ -z "$res" ]; then
                    log "$row w=$workers $server rep $rep: no RESULT (see $RAW)"
                    continue
                fi
                rps=$(field rps "$res"); p50=$(field p50_us "$res"); p99=$(field p99_us "$res")
                errs=$(field errors "$res")
                # CPU microseconds per round trip, and CPUs busy (cores).
                read -r cpu_rt cores < <(awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" -v r="$rps" \
                    'BEGIN { if (r > 0 && t > 0) printf "%.2f %.2f\n", c / 1000 / (r * t / 1e9), c / t; else print "- -" }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode-$conns" "$workers" "$server" "$rep" \
                    "$rps" "$p50" "$p99" "$errs" "$cpu_rt" "$cores" >>"$TSV"
                log "$(printf '%-9s w=%s %-6s rep %s: rps=%-8s p50=%-8s p99=%-8s cpu/rt=%-6s cores=%-5s errors=%s' \
                    "$mode-$conns" "$workers" "$server" "$rep" "$rps" "$p50" "$p99" "$cpu_rt" "$cores" "$errs")"
            done
        done
    done
done

python3 "$HERE/report.py"
