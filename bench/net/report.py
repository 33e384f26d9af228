#!/usr/bin/env python3
"""Summarise bench/net/out/results.tsv into a table (stdout and results.md).

Per row and worker count: the median rps and the median p99 (microseconds)
of each server over its reps, and gust's ratio to the best peer:
throughput gust/best-peer-rps (>1 is better) and p99 gust/best-peer-p99
(<1 is better).
"""
import csv
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
TSV = os.path.join(HERE, "out", "results.tsv")
MD = os.path.join(HERE, "results.md")
ORDER = ["gust", "tokio", "smol", "go"]
ROW_ORDER = ["echo-1", "echo-50", "echo-500", "chat-10", "chat-50"]


def main():
    if not os.path.exists(TSV):
        sys.exit(f"report.py: {TSV} not found; run run.sh first")
    runs = defaultdict(list)  # (row, workers, server) -> [(rps, p99, errors)]
    cpu = defaultdict(list)  # (row, workers, server) -> [(cpu_us_rt, cores)]
    with open(TSV) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            try:
                key = (r["row"], int(r["workers"]), r["server"])
                runs[key].append(
                    (float(r["rps"]), float(r["p99_us"]), int(r["errors"] or 0)))
            except (ValueError, KeyError):
                continue
            try:  # older runs have no CPU columns
                cpu[key].append((float(r["cpu_us_rt"]), float(r["cores"])))
            except (ValueError, KeyError, TypeError):
                pass
    servers = sorted({k[2] for k in runs},
                     key=lambda s: (ORDER.index(s) if s in ORDER else 99, s))
    groups = sorted({(k[0], k[1]) for k in runs},
                    key=lambda g: (ROW_ORDER.index(g[0]) if g[0] in ROW_ORDER else 99, g[0], g[1]))

    head = ["row", "workers"]
    for s in servers:
        head += [f"{s} rps", f"{s} p99 µs"]
    peers = [s for s in servers if s != "gust"]
    with_ratio = "gust" in servers and peers
    if with_ratio:
        head += ["gust/best rps", "gust/best p99"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for row, w in groups:
        cells = [row, str(w)]
        med_rps, med_p99 = {}, {}
        for s in servers:
            v = runs.get((row, w, s))
            if not v:
                cells += ["–", "–"]
                continue
            med_rps[s] = statistics.median(x[0] for x in v)
            med_p99[s] = statistics.median(x[1] for x in v)
            errs = sum(x[2] for x in v)
            cells += [f"{med_rps[s]:,.0f}", f"{med_p99[s]:,.0f}"]
            if errs:
                notes.append(f"{row} workers={w} {s}: {errs} errors over {len(v)} runs")
        if with_ratio:
            cells += [gust_over_best(med_rps, peers, max), gust_over_best(med_p99, peers, min)]
        lines.append("| " + " | ".join(cells) + " |")

    nreps = max((len(v) for v in runs.values()), default=0)
    text = ["# Network benchmark results", "",
            f"Medians over up to {nreps} interleaved reps per cell (raw runs: out/results.tsv). "
            "rps = round trips per second over all connections; p99 = 99th-percentile round-trip "
            "latency in microseconds. gust/best rps: gust's throughput over the best peer's "
            "(> 1 is better); gust/best p99: gust's p99 over the best (lowest) peer p99 "
            "(< 1 is better). The load generator shares the machine's cores with the server.",
            ""] + lines
    if cpu:
        text += ["", cpu_table(cpu, servers, groups)]
    if notes:
        text += ["", "Errors:", ""] + [f"- {n}" for n in notes]
    out = "\n".join(text) + "\n"
    print(out)
    with open(MD, "w") as f:
        f.write(out)


def gust_over_best(med, peers, best):
    """gust's median over the best peer's (`best`: max for throughput, min
    for latency and CPU), as a table cell; "–" without both."""
    pm = [med[s] for s in peers if s in med]
    if "gust" not in med or not pm or not best(pm):
        return "–"
    return f"{med['gust'] / best(pm):.2f}"


def cpu_table(cpu, servers, groups):
    """The servers' CPU per round trip (which moves with placement too,
    less than throughput: README.md), with the cores they kept busy."""
    head = ["row", "workers"] + [f"{s} µs/rt (cores)" for s in servers]
    peers = [s for s in servers if s != "gust"]
    with_ratio = "gust" in servers and peers
    if with_ratio:
        head.append("gust/best µs/rt")
    lines = ["Server CPU per round trip: the server's CPU time over the measured "
             "window (all its threads, from /proc/PID/task/*/schedstat) divided by "
             "the round trips in it; median over the reps, in microseconds (< is "
             "better), with the median number of cores the server kept busy. "
             "gust/best µs/rt: gust's over the lowest peer's (< 1 is better).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, w in groups:
        cells = [row, str(w)]
        med = {}
        for s in servers:
            v = cpu.get((row, w, s))
            if not v:
                cells.append("–")
                continue
            med[s] = statistics.median(x[0] for x in v)
            cores = statistics.median(x[1] for x in v)
            cells.append(f"{med[s]:.2f} ({cores:.2f})")
        if with_ratio:
            cells.append(gust_over_best(med, peers, min))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
