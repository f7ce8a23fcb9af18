"""Assembles the phases of one scripts/bench run into the benchmark table: prints it (Markdown)
and writes it, with every phase's raw figures, to results.json in the same folder.

    report.py OUT_DIR --mode full|smoke --build debug|release [--intake-concurrency N] [--phases all|LIST]

Exits 1 when a phase is missing, failed or did nothing (zero throughput): the smoke run in
scripts/test relies on that. Figures are never compared with a threshold here.
"""

import argparse
import datetime
import json
import os
import platform
import sys


def load(out, name):
    path = os.path.join(out, name + ".json")
    try:
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def num(value, places=1):
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{places}f}"


def ratio(a, b, places=3):
    if a is None or b in (None, 0):
        return None
    return round(a / b, places)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mode", default="full")
    parser.add_argument("--build", default="debug")
    parser.add_argument("--intake-concurrency", type=int, default=1)
    parser.add_argument("--phases", default="all", help="the parts scripts/bench ran (PHASES): only theirs must be there")
    args = parser.parse_args()

    names = [
        "limit", "queue", "handoff", "coder", "biller", "intake", "copy", "pgqueuer", "queue-view",
        "backlog-small", "backlog-large", "backlog-churn", "backlog-churned", "x12",
        "coder-prepared", "coder-unprepared", "coder-pgbouncer",
    ]
    p = {name: load(args.out, name) for name in names}
    sections = {
        "limit": ["limit", "queue"], "flow": ["handoff", "coder", "biller", "intake", "copy"], "pgqueuer": ["pgqueuer"],
        "backlog": ["queue-view", "backlog-small", "backlog-large", "backlog-churn", "backlog-churned"], "x12": ["x12"],
        "pooling": ["coder-prepared", "coder-unprepared", "coder-pgbouncer"],
    }
    chosen = args.phases.split(",")
    expected = set(names) if "all" in chosen else {n for part in chosen for n in sections.get(part, [])}
    missing = [name for name, value in p.items() if value is None and name in expected]
    skipped = [name for name in names if name not in expected]

    limit, queue, handoff = p["limit"] or {}, p["queue"] or {}, p["handoff"] or {}
    coder, biller, intake, copy = p["coder"] or {}, p["biller"] or {}, p["intake"] or {}, p["copy"] or {}
    peer, view = p["pgqueuer"] or {}, p["queue-view"] or {}
    small, large = p["backlog-small"] or {}, p["backlog-large"] or {}
    churn, churned, x12 = p["backlog-churn"] or {}, p["backlog-churned"] or {}, p["x12"] or {}
    prepared, unprepared, bounced = p["coder-prepared"] or {}, p["coder-unprepared"] or {}, p["coder-pgbouncer"] or {}

    def cpu_per_cycle(phase):
        s, g = phase.get("service_cpu_ms_per_cycle"), phase.get("postgres_cpu_ms_per_cycle")
        return round(s + g, 3) if s is not None and g is not None else None

    limit_pairs = limit.get("pairs_per_s")
    limit_cpu = limit.get("postgres_cpu_ms_per_pair")
    coder_cpu, biller_cpu = cpu_per_cycle(coder), cpu_per_cycle(biller)
    handoff_cpu = None
    if handoff.get("worker_cpu_ms_per_encounter") is not None and handoff.get("postgres_cpu_ms_per_encounter") is not None:
        handoff_cpu = round(handoff["worker_cpu_ms_per_encounter"] + handoff["postgres_cpu_ms_per_encounter"], 3)
    batches = intake.get("batches")
    concurrency = "sequential" if args.intake_concurrency == 1 else f"{args.intake_concurrency} at a time"

    def cycle_text(phase, requests):
        if not phase:
            return "—"
        return (
            f"{num(phase.get('cycles_per_s'))} cycles/s; request p50 {num(phase.get('request_p50_ms'), 2)} ms, "
            f"p99 {num(phase.get('request_p99_ms'), 2)} ms; CPU {num(phase.get('service_cpu_ms_per_cycle'), 2)} ms service "
            f"+ {num(phase.get('postgres_cpu_ms_per_cycle'), 2)} ms PostgreSQL per cycle"
        )

    rows = [
        {
            "path": f"the limit: bare SKIP LOCKED claim + delete (pgbench, prepared, {limit.get('clients', '?')} clients)",
            "claimflow": f"{num(limit_pairs)} pairs/s; PostgreSQL CPU {num(limit_cpu, 3)} ms per pair",
            "yardstick": "—", "ratio": 1.0 if limit_pairs else None, "target": "—",
        },
        {
            "path": f"coder cycle over HTTP (next + codes + complete), {coder.get('clients', '?')} clients",
            "claimflow": cycle_text(coder, 3),
            "yardstick": f"limit {num(limit_pairs)} pairs/s",
            "ratio": ratio(coder.get("cycles_per_s"), limit_pairs), "target": "≥ 0.25; p99 ≤ 50 ms",
        },
        {
            "path": "CPU per coder cycle (service + PostgreSQL)",
            "claimflow": f"{num(coder_cpu, 2)} ms",
            "yardstick": f"limit {num(limit_cpu, 3)} ms per pair",
            "ratio": ratio(coder_cpu, limit_cpu, 1), "target": "≤ 4",
        },
        {
            "path": "service RSS under coder load (peak / at end)",
            "claimflow": f"{num(coder.get('service_rss_peak_mb'))} MB / {num(coder.get('service_rss_mb'))} MB",
            "yardstick": "—", "ratio": None, "target": "≤ 150 MB",
        },
        {
            "path": f"biller cycle over HTTP (next + submit), {biller.get('clients', '?')} clients",
            "claimflow": cycle_text(biller, 2),
            "yardstick": f"limit {num(limit_pairs)} pairs/s",
            "ratio": ratio(biller.get("cycles_per_s"), limit_pairs), "target": "—",
        },
        {
            "path": "service RSS under biller load (peak / at end)",
            "claimflow": f"{num(biller.get('service_rss_peak_mb'))} MB / {num(biller.get('service_rss_mb'))} MB",
            "yardstick": "—", "ratio": None, "target": "≤ 150 MB",
        },
        {
            "path": f"handoff worker draining {num(handoff.get('coded'))} coded encounters into claims",
            "claimflow": (
                f"{num(handoff.get('encounters_per_s'))} encounters/s; CPU {num(handoff.get('worker_cpu_ms_per_encounter'), 2)} ms "
                f"worker + {num(handoff.get('postgres_cpu_ms_per_encounter'), 2)} ms PostgreSQL per encounter"
            ),
            "yardstick": f"pgqueuer drain {num(peer.get('drain_per_second'))} jobs/s",
            "ratio": ratio(handoff.get("encounters_per_s"), peer.get("drain_per_second")), "target": "≥ 0.5",
        },
        {
            "path": f"peer: pgqueuer 1.6.0, {num(peer.get('jobs'))} no-op jobs ({peer.get('workers', '?')} workers, batch {peer.get('batch_size', '?')})",
            "claimflow": "—",
            "yardstick": f"enqueue {num(peer.get('enqueue_per_second'))} jobs/s, drain {num(peer.get('drain_per_second'))} jobs/s",
            "ratio": None, "target": "—",
        },
        {
            "path": f"NDJSON intake, {num(intake.get('lines'))} lines in {batches} batches of {num(intake.get('batch_lines'))} ({concurrency})",
            "claimflow": (
                f"{num(intake.get('encounters_per_s'))} encounters/s; CPU {num(intake.get('service_cpu_ms_per_encounter'), 2)} ms "
                f"service + {num(intake.get('postgres_cpu_ms_per_encounter'), 2)} ms PostgreSQL per encounter"
            ),
            "yardstick": f"psql \\copy of the same rows into a flat table: {num(copy.get('rows_per_s'))} rows/s ({num(copy.get('seconds'), 2)} s)",
            "ratio": ratio(intake.get("encounters_per_s"), copy.get("rows_per_s"), 4), "target": "≥ 10,000/s (≈ 0.03)",
        },
        {
            "path": f"the queue alone, in process (WorkQueue pull + complete, {queue.get('clients', '?')} clients, no HTTP, no codes)",
            "claimflow": f"{num(queue.get('pairs_per_s'))} pairs/s; CPU {num(queue.get('claimflow_cpu_ms_per_pair'), 2)} ms + {num(queue.get('postgres_cpu_ms_per_pair'), 2)} ms PostgreSQL per pair",
            "yardstick": f"limit {num(limit_pairs)} pairs/s",
            "ratio": ratio(queue.get("pairs_per_s"), limit_pairs), "target": "—",
        },
        {
            "path": f"backlog: pull p50 at {num(small.get('waiting'))} waiting (WorkQueue in process, 1 coder)",
            "claimflow": f"p50 {num(small.get('pull_p50_ms'), 2)} ms, p99 {num(small.get('pull_p99_ms'), 2)} ms",
            "yardstick": "—", "ratio": None, "target": "—",
        },
        {
            "path": f"backlog: pull p50 at {num(large.get('waiting'))} waiting",
            "claimflow": f"p50 {num(large.get('pull_p50_ms'), 2)} ms, p99 {num(large.get('pull_p99_ms'), 2)} ms",
            "yardstick": f"at {num(small.get('waiting'))}: {num(small.get('pull_p50_ms'), 2)} ms",
            "ratio": ratio(large.get("pull_p50_ms"), small.get("pull_p50_ms"), 2), "target": "≤ 1.5",
        },
        {
            "path": f"backlog: pull p50 after {num(churn.get('pairs'))} churned ({num(churned.get('waiting'))} waiting)",
            "claimflow": (
                f"p50 {num(churned.get('pull_p50_ms'), 2)} ms, p99 {num(churned.get('pull_p99_ms'), 2)} ms "
                f"(churn ran at {num(churn.get('pairs_per_s'))} pairs/s)"
            ),
            "yardstick": f"fresh at {num(large.get('waiting'))}: {num(large.get('pull_p50_ms'), 2)} ms",
            "ratio": ratio(churned.get("pull_p50_ms"), large.get("pull_p50_ms"), 2), "target": "≤ 1.3",
        },
        {
            "path": f"supervisor queue view at {num(view.get('encounters'))} encounters ({num(view.get('open'))} open), {view.get('runs', '?')} requests",
            "claimflow": f"HTTP p50 {num(view.get('http_p50_ms'), 2)} ms, p95 {num(view.get('http_p95_ms'), 2)} ms",
            "yardstick": f"the bare SQL (pgbench, 1 client): {num(view.get('sql_avg_ms'), 2)} ms",
            "ratio": ratio(view.get("http_p50_ms"), view.get("sql_avg_ms"), 2), "target": "—",
        },
        {
            "path": f"pooling: coder cycle, prepared statements on, direct ({prepared.get('clients', '?')} clients)",
            "claimflow": cycle_text(prepared, 3),
            "yardstick": "—", "ratio": 1.0 if prepared.get("cycles_per_s") else None, "target": "—",
        },
        {
            "path": "pooling: coder cycle, prepared statements off, direct",
            "claimflow": cycle_text(unprepared, 3),
            "yardstick": f"on: {num(prepared.get('cycles_per_s'))} cycles/s",
            "ratio": ratio(unprepared.get("cycles_per_s"), prepared.get("cycles_per_s"), 2), "target": "—",
        },
        {
            "path": "pooling: coder cycle, prepared statements off, through PgBouncer 1.18 (transaction mode)",
            "claimflow": (
                cycle_text(bounced, 3) + f" + {num(bounced.get('pgbouncer_cpu_ms_per_cycle'), 2)} ms PgBouncer"
                if bounced else "—"
            ),
            "yardstick": f"on, direct: {num(prepared.get('cycles_per_s'))} cycles/s",
            "ratio": ratio(bounced.get("cycles_per_s"), prepared.get("cycles_per_s"), 2), "target": "—",
        },
        {
            "path": f"837P writer, {num(x12.get('claims'))} claims in interchanges of {x12.get('per_interchange', '?')}, one core",
            "claimflow": f"{num(x12.get('claims_per_s'))} claims/s",
            "yardstick": "—", "ratio": None, "target": "≥ 20,000/s",
        },
    ]

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print()
    # Other work on the machine skews every figure: the share of its CPU that work outside the
    # benchmark used during the run says how quiet it was.
    machine = load(args.out, "machine") or {}
    other = machine.get("other_share")
    quiet = "—" if other is None else f"{other * 100:.0f} %"
    print(
        f"ClaimFlow benchmark, {args.mode} run, {args.build} build, {stamp}, {os.cpu_count()} cores, {platform.machine()}; "
        f"CPU used by other work on the machine during the run: {quiet}"
    )
    print()
    print("| path | ClaimFlow | yardstick in the same run | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        r = "—" if row["ratio"] is None else f"{row['ratio']:g}"
        print(f"| {row['path']} | {row['claimflow']} | {row['yardstick']} | {r} | {row['target']} |")

    # A phase that did nothing is a broken benchmark, whatever its time.
    zero = []
    checks = {
        "limit": limit.get("pairs_per_s"), "queue": queue.get("pairs_per_s"), "handoff": handoff.get("encounters_per_s"),
        "coder": coder.get("cycles_per_s"), "biller": biller.get("cycles_per_s"), "intake": intake.get("encounters_per_s"),
        "copy": copy.get("rows_per_s"), "pgqueuer": peer.get("drain_per_second"),
        "queue-view": view.get("http_p50_ms"), "backlog-small": small.get("pull_p50_ms"),
        "backlog-large": large.get("pull_p50_ms"), "backlog-churn": churn.get("pairs_per_s"),
        "backlog-churned": churned.get("pull_p50_ms"), "x12": x12.get("claims_per_s"),
        "coder-prepared": prepared.get("cycles_per_s"), "coder-unprepared": unprepared.get("cycles_per_s"),
        "coder-pgbouncer": bounced.get("cycles_per_s"),
    }
    for name, value in checks.items():
        if name not in missing and name not in skipped and not value:
            zero.append(name)
    errors = {
        k: v
        for k, v in (
            ("coder", coder.get("errors_total")), ("biller", biller.get("errors_total")),
            ("coder-prepared", prepared.get("errors_total")), ("coder-unprepared", unprepared.get("errors_total")),
            ("coder-pgbouncer", bounced.get("errors_total")),
        )
        if v
    }

    results = {
        "mode": args.mode, "build": args.build, "measured_at": stamp, "cores": os.cpu_count(), "machine": machine,
        "table": rows, "phases": p, "missing": missing, "skipped": skipped, "zero": zero, "errors": errors,
    }
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print()
    print(f"results: {os.path.abspath(path)}")
    if missing or zero or errors:
        print(f"benchmark FAILED: missing {missing}, zero throughput {zero}, errors {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
