#!/usr/bin/env python3
"""Turns one run of gust's comparison suite into bench/results.md and
bench/results.svg (standard library only).

Inputs, all under --out (bench/out by default, as bench/run.sh lays it):
  criterion/round<R>/<workload>_w<N>/<runtime>/new/sample.json  (the samples
      of round R; a row's median and spread pool the samples of all rounds)
  criterion/round<R>/<workload>_w<N>/<runtime>/new/benchmark.json
      (Throughput::Elements)
  (criterion/<workload>_w<N>/... without round directories: one round; with
  no sample.json, criterion's own median and MAD from estimates.json)
  status.tsv   group, runtime, ops, "ok" or "FAIL: why" (from benches/compare.rs)
  go.tsv       go, workload, workers, ns/op, spread %, ops  (from bench/go;
               one line per round: the median of the rounds is taken)
  memory.tsv   memory, runtime, tasks, bytes/task, peak bytes/task
  notes.txt    lines to print under the table (a missing peer, Go not found)
  lateness.tsv row, workers, runtime, p50 µs, p99 µs, max µs: one line per
               iteration of the timer row (benches/rows/timers.rs, bench/go);
               the lateness table shows the median over the iterations
Anything missing becomes "n/a"; a workload that failed its own check is
shown as FAIL and never counts as the best.
"""

import argparse
import html
import json
import math
import os
import sys

RUST_PEERS = ["tokio", "smol", "flume", "kanal", "wg", "awaitgroup"]
COLUMNS = ["gust"] + RUST_PEERS
WORKLOADS = [
    ("spawn", "spawn + join", "task"),
    ("pingpong", "rendezvous ping-pong", "round trip"),
    ("spsc_bounded", "SPSC bounded(1024)", "message"),
    ("spsc_rendezvous", "SPSC rendezvous", "message"),
    ("mpmc", "MPMC 4x4 bounded(1024)", "message"),
    ("select", "select over 4 bounded(64)", "message"),
    ("sieve", "prime sieve", "prime"),
    ("fanout", "fan-out + WaitGroup", "task"),
    ("cancel", "cancel waiters", "task"),
    ("fanin", "fan-in through a WaitGroup", "task"),
    ("children", "create + cancel child context", "child context"),
    ("mutex4", "contended Mutex, 4 tasks", "lock"),
    ("mutex16", "contended Mutex, 16 tasks", "lock"),
    ("dynselect16", "run-time select over 16 bounded(64)", "message"),
    ("timers100k", "timers firing, deadlines 200 ns apart", "timer"),
    ("timeouts1m", "timeout created + cancelled", "timeout"),
]
COLORS = {
    "gust": "#d62728",
    "tokio": "#1f77b4",
    "smol": "#2ca02c",
    "flume": "#9467bd",
    "kanal": "#ff7f0e",
    "wg": "#8c564b",
    "awaitgroup": "#e377c2",
    "go": "#17becf",
}


def fmt_ns(ns):
    if ns is None:
        return "n/a"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} µs"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.1f} ns"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load(out):
    """Returns (results, workers): results[(workload, workers)][runtime] =
    {"ns": median ns/op, "spread": MAD % or None, "fail": reason or None}."""
    res = {}
    workers = set()

    def put(wl, w, rt, **kv):
        workers.add(w)
        res.setdefault((wl, w), {})[rt] = kv

    crit = os.path.join(out, "criterion")
    rounds = sorted(
        (os.path.join(crit, d) for d in (os.listdir(crit) if os.path.isdir(crit) else [])
         if d.startswith("round") and os.path.isdir(os.path.join(crit, d))),
    ) or [crit]
    ops_of = {}
    status = {}
    try:
        with open(os.path.join(out, "status.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 4:
                    # A failure in any round fails the row.
                    if not status.get((p[0], p[1]), "").startswith("FAIL"):
                        status[(p[0], p[1])] = p[3]
                    ops_of[(p[0], p[1])] = int(p[2])
    except OSError:
        pass
    groups = set(g for g, _ in status)
    for rd in rounds:
        if os.path.isdir(rd):
            for g in os.listdir(rd):
                if os.path.isdir(os.path.join(rd, g)) and "_w" in g:
                    groups.add(g)
    for g in sorted(groups):
        wl, _, w = g.rpartition("_w")
        if not w.isdigit():
            continue
        w = int(w)
        rts = set(rt for (gg, rt) in status if gg == g)
        for rd in rounds:
            gdir = os.path.join(rd, g)
            if os.path.isdir(gdir):
                rts |= set(d for d in os.listdir(gdir) if d in COLUMNS)
        for rt in rts:
            st = status.get((g, rt), "")
            if st.startswith("FAIL"):
                put(wl, w, rt, ns=None, spread=None, fail=st[5:].strip() or "failed its check")
                continue
            samples, ests, ops = [], [], ops_of.get((g, rt))
            for rd in rounds:
                d = os.path.join(rd, g, rt, "new")
                bj = read_json(os.path.join(d, "benchmark.json")) or {}
                ops = (bj.get("throughput") or {}).get("Elements") or ops
                sj = read_json(os.path.join(d, "sample.json"))
                if sj and sj.get("iters"):
                    samples += [t / i for t, i in zip(sj["times"], sj["iters"]) if i]
                else:
                    est = read_json(os.path.join(d, "estimates.json"))
                    if est:
                        ests.append(est)
            if not ops:
                continue
            if samples:
                med = median(samples)
                mad = median([abs(x - med) for x in samples])
            elif ests:
                med = median([e["median"]["point_estimate"] for e in ests])
                mad = median([e.get("median_abs_dev", {}).get("point_estimate", 0.0) for e in ests])
            else:
                continue
            put(wl, w, rt, ns=med / ops, spread=(100.0 * mad / med if med else None), fail=None)
    # Go: one line per workload, worker count and round; the row's value is
    # the median of the rounds, its spread the larger of the rounds' own
    # (median) and how far the rounds lie apart (median absolute deviation).
    go_rounds = {}
    try:
        with open(os.path.join(out, "go.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 5 and p[0] == "go":
                    go_rounds.setdefault((p[1], int(p[2])), []).append((float(p[3]), float(p[4])))
    except (OSError, ValueError):
        pass
    for (wl, w), rounds in go_rounds.items():
        med = median([ns for ns, _ in rounds])
        between = 100.0 * median([abs(ns - med) for ns, _ in rounds]) / med if med else 0.0
        within = median([sp for _, sp in rounds])
        put(wl, w, "go", ns=med, spread=max(within, between), fail=None)
    ops = {}
    for (g, _), n in ops_of.items():
        ops[g.rpartition("_w")[0]] = n
    return res, sorted(workers), ops


def load_memory(out):
    mem = {}
    try:
        with open(os.path.join(out, "memory.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 5 and p[0] == "memory":
                    mem[p[1]] = None if p[3] == "FAIL" else int(p[3])
                elif len(p) >= 4 and p[0] == "chanmem":
                    mem["chan:" + p[1]] = None if p[3] == "FAIL" else int(p[3])
    except (OSError, ValueError):
        pass
    return mem


def load_lateness(out):
    """lat[(row, workers)][runtime] = (median p50, median p99, median max, iterations)
    over the iterations in lateness.tsv."""
    acc = {}
    try:
        with open(os.path.join(out, "lateness.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 6 and p[1].isdigit():
                    try:
                        v = [float(x) for x in p[3:6]]
                    except ValueError:
                        continue
                    acc.setdefault((p[0], int(p[1])), {}).setdefault(p[2], []).append(v)
    except OSError:
        pass
    return {
        k: {rt: (median([v[0] for v in vs]), median([v[1] for v in vs]), median([v[2] for v in vs]), len(vs))
            for rt, vs in row.items()}
        for k, row in acc.items()
    }


def fmt_us(us):
    return f"{us / 1e3:.2f} ms" if us >= 1e3 else f"{us:.0f} µs"


def cell(r, bold=False):
    if r is None:
        return "n/a"
    if r.get("fail"):
        return "FAIL"
    s = fmt_ns(r["ns"])
    if r.get("spread") is not None:
        s += f" ±{r['spread']:.0f}%"
    return f"**{s}**" if bold else s


def best_peer(row):
    cands = [(r["ns"], rt) for rt, r in row.items() if rt in RUST_PEERS and r.get("ns") is not None]
    return min(cands) if cands else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def write_md(path, res, workers, mem, notes, wall, machine, ops, lat=None):
    L = []
    L.append("# gust beside its peers")
    L.append("")
    L.append(
        "Generated by `bash bench/run.sh` (benches/compare.rs, benches/memory.rs, bench/go). "
        "Median time per operation over the samples of every round of the Rust suite "
        "(± median absolute deviation, in % of the median; rounds are whole passes of the suite, "
        "minutes apart, so a burst of outside load hits one runtime in one round, not the whole row; "
        "within a round the runtimes of a row take turns of about 50 ms, so that each sees the same "
        "mix of the machine's fast and slow spells); "
        "`gust / best peer` compares with the fastest of tokio, smol, flume, kanal, wg and awaitgroup on that row "
        "(below 1.00 = gust is faster). FAIL = the runtime finished the workload with a wrong "
        "result (lost or duplicated messages) and is not counted."
    )
    if machine:
        L.append("")
        L.append(f"Machine: {machine}." + (f" One full run took {wall}." if wall else ""))
    if ops:
        L.append("")
        L.append("Operations per iteration: " + ", ".join(
            f"{title} {ops[wl]:,} {unit}s" for wl, title, unit in WORKLOADS if wl in ops) + ".")
    L.append("")
    hdr = ["workload (per op)", "workers"] + COLUMNS + ["best peer", "gust / best peer", "Go", "gust / Go"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 2)) + "|")
    for wl, title, unit in WORKLOADS:
        for w in workers:
            row = res.get((wl, w), {})
            bp = best_peer(row)
            fastest = min([r["ns"] for rt, r in row.items() if rt in COLUMNS and r.get("ns") is not None], default=None)
            cells = [f"{title} (per {unit})", str(w)]
            for rt in COLUMNS:
                r = row.get(rt)
                cells.append(cell(r, bold=r is not None and r.get("ns") is not None and r["ns"] == fastest))
            g = row.get("gust", {}).get("ns") if row.get("gust") else None
            cells.append(f"{bp[1]} {fmt_ns(bp[0])}" if bp else "n/a")
            rb = ratio(g, bp[0] if bp else None)
            cells.append(f"{rb:.2f}" if rb is not None else "n/a")
            cells.append(cell(row.get("go")))
            rg = ratio(g, row["go"]["ns"] if row.get("go") and row["go"].get("ns") else None)
            cells.append(f"{rg:.2f}" if rg is not None else "n/a")
            L.append("| " + " | ".join(cells) + " |")
    if lat:
        L.append("")
        L.append("## Timer lateness")
        L.append("")
        L.append(
            "The 100k-timers row: how long after its deadline each timer's task woke "
            "(p50 and p99 over the 100k timers of an iteration, then the median over the iterations; "
            "`max` likewise). Deadlines are 200 ns apart, 5M a second, so a runtime that cannot keep up "
            "falls behind and its lateness grows with the backlog."
        )
        L.append("")
        rts = ["gust", "tokio", "smol", "go"]
        L.append("| timers, workers | " + " | ".join(("Go" if rt == "go" else rt) + " p50 / p99 / max" for rt in rts) + " |")
        L.append("|---|" + "|".join(["---:"] * len(rts)) + "|")
        for (wl, w) in sorted(lat):
            row = lat[(wl, w)]
            cells = [f"{wl} ({ops[wl]:,})" if wl in ops else wl, ]
            cells[0] += f", {w}"
            for rt in rts:
                v = row.get(rt)
                cells.append(f"{fmt_us(v[0])} / {fmt_us(v[1])} / {fmt_us(v[2])}" if v else "n/a")
            L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Memory per idle task")
    L.append("")
    L.append(
        "1M tasks, each parked on a receive from its own rendezvous channel (tokio: mpsc capacity 1; "
        "smol: async-channel bounded(1)), growth of the resident set divided by 1M (channel, task and "
        "the sender kept for it), each runtime in its own process."
    )
    L.append("")
    cols = COLUMNS + ["go"]
    L.append("| | " + " | ".join(cols) + " | gust / best peer | gust / Go |")
    L.append("|---|" + "|".join(["---:"] * (len(cols) + 2)) + "|")
    vals = {rt: mem.get(rt) for rt in cols}
    bpm = min([vals[rt] for rt in RUST_PEERS if vals.get(rt)], default=None)
    cells = ["bytes per task"] + [
        ("FAIL" if rt in mem and mem[rt] is None else (f"{vals[rt]:,}" if vals[rt] is not None else "n/a")) for rt in cols
    ]
    r1 = ratio(vals.get("gust"), bpm)
    r2 = ratio(vals.get("gust"), vals.get("go"))
    cells += [f"{r1:.2f}" if r1 is not None else "n/a", f"{r2:.2f}" if r2 is not None else "n/a"]
    L.append("| " + " | ".join(cells) + " |")
    cvals = {rt: mem.get("chan:" + rt) for rt in cols}
    if any(v is not None for v in cvals.values()):
        cbest = min([cvals[rt] for rt in RUST_PEERS if cvals.get(rt)], default=None)
        cells = ["bytes per idle channel (no task)"] + [
            ("FAIL" if ("chan:" + rt) in mem and mem["chan:" + rt] is None
             else (f"{cvals[rt]:,}" if cvals[rt] is not None else "n/a")) for rt in cols
        ]
        c1 = ratio(cvals.get("gust"), cbest)
        c2 = ratio(cvals.get("gust"), cvals.get("go"))
        cells += [f"{c1:.2f}" if c1 is not None else "n/a", f"{c2:.2f}" if c2 is not None else "n/a"]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("![gust / best peer per workload](results.svg)")
    L.append("")
    L.append("## Notes")
    L.append("")
    L.append(
        "- tokio: `current_thread` at 1 worker, `multi_thread` above; mpsc (capacity 1 where a rendezvous is "
        "asked), MPMC through a receiver shared behind a `tokio::sync::Mutex`, `tokio::select!`, "
        "`TaskTracker` as the WaitGroup, `CancellationToken` as the context."
    )
    L.append(
        "- smol: one async-executor run by N threads, async-channel (capacity 1 for rendezvous), "
        "`futures::select!`, WaitGroup and cancel made of an atomic and an event-listener `Event`."
    )
    L.append(
        "- flume and kanal: their async channels on tokio `multi_thread` with N workers, `tokio::select!`, "
        "`TaskTracker`; they have no executor of their own, hence no spawn and cancel columns."
    )
    L.append(
        "- wg and awaitgroup: those crates' async WaitGroups (`wg::future::WaitGroup`, "
        "`awaitgroup::WaitGroup`) on the same tokio runtime as the tokio column, in the fan-in row only."
    )
    L.append(
        "- create + cancel child context: one long-lived parent, each child made and cancelled in turn on "
        "one thread; gust `Context::with_cancel`, tokio-util `CancellationToken::child_token`, Go "
        "`context.WithCancel` (smol has no context tree)."
    )
    L.append(
        "- timers: 100k tasks (spawned 1,000 at a time, the spawner yielding between batches) each sleep "
        "until t0 + 1 ms + i × 200 ns (gust `time::sleep_until`, tokio `time::sleep_until`, smol async-io "
        "`Timer::at` driven by async-io's own thread, Go `time.Sleep`); the time is to the last wake-up, "
        "per timer (at least 200 ns + 1 ms / timers: 210 ns at 100k). Timeouts: 8 tasks, each awaiting a 10 s timeout around one "
        "`yield_now()`, so the timer is registered and then cancelled (gust `time::timeout`, tokio "
        "`time::timeout`, smol `future::or` with an async-io `Timer`, Go `time.NewTimer` + `Gosched` + `Stop`)."
    )
    L.append("- Go: bench/go (std only), GOMAXPROCS = workers; memory from /proc/self/status as for Rust.")
    fails = [
        f"{wl}_w{w}/{rt}: {r['fail']}"
        for (wl, w), row in sorted(res.items())
        for rt, r in sorted(row.items())
        if r.get("fail")
    ]
    for f in fails:
        L.append(f"- FAIL {f}")
    for n in notes:
        L.append(f"- {n}")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_svg(path, res, workers, mem):
    """Grouped bars: each runtime's time / the best peer's, per (workload,
    workers), on a log scale (1 = the best peer; below = faster)."""
    series = COLUMNS + ["go"]
    groups = []
    for wl, title, _ in WORKLOADS:
        for w in workers:
            row = res.get((wl, w), {})
            bp = best_peer(row)
            vals = {}
            for rt in series:
                r = row.get(rt)
                if r is None:
                    continue
                if r.get("fail"):
                    vals[rt] = "FAIL"
                elif bp and r.get("ns") is not None:
                    vals[rt] = r["ns"] / bp[0]
            groups.append((f"{title.split(' (')[0]}", f"{w}w", vals))
    bpm = min([mem[rt] for rt in RUST_PEERS if mem.get(rt)], default=None)
    if bpm:
        groups.append(("memory per idle task", "", {rt: (mem[rt] / bpm if mem.get(rt) else "FAIL") for rt in series if rt in mem}))

    lo, hi = 0.125, 64.0
    bw, gap = 9, 14
    gw = bw * len(series) + gap
    left, top, ph = 60, 50, 330
    width = left + gw * len(groups) + 130
    height = top + ph + 150

    def y(v):
        v = min(max(v, lo), hi)
        return top + ph * (math.log2(hi) - math.log2(v)) / (math.log2(hi) - math.log2(lo))

    o = []
    o.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">')
    o.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    o.append(f'<text x="{left}" y="20" font-size="15" font-weight="bold">gust and peers: time per op / best Rust peer '
             f'(log scale; 1x = the best of tokio, smol, flume, kanal, wg, awaitgroup; below = faster)</text>')
    k = lo
    while k <= hi:
        yy = y(k)
        o.append(f'<line x1="{left}" x2="{left + gw * len(groups)}" y1="{yy:.1f}" y2="{yy:.1f}" '
                 f'stroke="{"#000" if k == 1 else "#ddd"}" stroke-width="{1.5 if k == 1 else 1}"/>')
        lab = f"{k:g}x"
        o.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{lab}</text>')
        k *= 2
    for gi, (name, wlab, vals) in enumerate(groups):
        x0 = left + gi * gw + gap / 2
        for si, rt in enumerate(series):
            v = vals.get(rt)
            x = x0 + si * bw
            if v is None:
                continue
            if v == "FAIL":
                o.append(f'<text x="{x + bw / 2:.1f}" y="{y(1) - 3:.1f}" text-anchor="middle" fill="{COLORS[rt]}" '
                         f'font-weight="bold">×<title>{rt}: FAIL (wrong result)</title></text>')
                continue
            y1, yb = sorted((y(v), y(1)))
            o.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bw - 1}" height="{max(yb - y1, 1):.1f}" '
                     f'fill="{COLORS[rt]}"><title>{html.escape(name)} {wlab} {rt}: {v:.2f}x</title></rect>')
        cx = x0 + bw * len(series) / 2
        o.append(f'<text transform="translate({cx:.1f},{top + ph + 12}) rotate(40)" font-size="10">'
                 f'{html.escape(name)} {wlab}</text>')
    lx = left
    for rt in series:
        o.append(f'<rect x="{lx}" y="28" width="10" height="10" fill="{COLORS[rt]}"/>')
        o.append(f'<text x="{lx + 14}" y="37">{"Go" if rt == "go" else rt}</text>')
        lx += 70
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


README_BEGIN = "<!-- bench table: begin (written by bash bench/run.sh) -->"
README_END = "<!-- bench table: end -->"


def splice_readme(readme, md):
    """Copies the tables of `md` (bench/results.md) into `readme` between its
    markers: from the machine line to the chart, the memory heading made
    bold and the chart's path made relative to the README."""
    with open(md) as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Machine:"))
    end = next((i for i, l in enumerate(lines) if l.startswith("## Notes")), len(lines))
    body = []
    for l in lines[start:end]:
        if l.startswith("## "):
            l = "**" + l[3:] + "**"
        body.append(l.replace("(results.svg)", "(bench/results.svg)"))
    while body and not body[-1].strip():
        body.pop()
    with open(readme) as f:
        text = f.read()
    b, e = text.find(README_BEGIN), text.find(README_END)
    if b < 0 or e < b:
        sys.exit(f"{readme}: markers {README_BEGIN!r} and {README_END!r} not found")
    text = text[: b + len(README_BEGIN)] + "\n\n" + "\n".join(body) + "\n\n" + text[e:]
    with open(readme, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "out"))
    ap.add_argument("--md", default=os.path.join(here, "results.md"))
    ap.add_argument("--svg", default=os.path.join(here, "results.svg"))
    ap.add_argument("--wall", default="")
    ap.add_argument("--machine", default="")
    ap.add_argument("--readme", help="only splice --md's tables into this README")
    a = ap.parse_args()
    if a.readme:
        splice_readme(a.readme, a.md)
        return 0
    res, workers, ops = load(a.out)
    mem = load_memory(a.out)
    notes = []
    try:
        with open(os.path.join(a.out, "notes.txt")) as f:
            notes = [l.strip() for l in f if l.strip()]
    except OSError:
        pass
    if not workers:
        workers = [1]
        notes.append("no benchmark results were found: every cell is n/a")
    write_md(a.md, res, workers, mem, notes, a.wall, a.machine, ops, load_lateness(a.out))
    write_svg(a.svg, res, workers, mem)
    print(open(a.md).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
