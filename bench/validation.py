"""Benchmark (issue: C&A tests).

1. All items, one period, all entities: extraction time vs the time the C&A tests add on top
   (target: tests <= 30 % of extraction), in one child process with its peak memory, one
   engine and its entities one after another; the tests batch their source queries over the
   entities as the close does (``SharedScans``) and, in another child for comparison, run each
   entity's own source queries; in a third, only the rules the issue itself requires (a tie-out,
   not-null, unique key and one accuracy rule per item, and the rules it names), which is the
   least the tests can cost with the pack the issue asks for. Then in the close's own shape (two workers with an engine of
   one DuckDB thread each), ``--pairs`` runs with the tests and without, alternated: the wall
   and CPU time the tests add to a close.
   Another child breaks the tests' cost down (CPU, summed over the entities): each shared
   batch, and per item each part of its statement (by rule kind), the whole statement, and
   everything else validate() does (registration, history, results).
2. The same rules on the same data side by side, each in its own child process: SOXauto's
   compiled SQL on DuckDB vs plain pandas in memory (how the earlier tooling did it) vs
   pandera. Data: the CR_03 extracts of every entity (GL entries up to the cutoff), rules:
   critical columns not null, key unique, allowed values, recomputation, first digit.

    .venv/bin/python bench/validation.py --lake DIR [--period YYYY-MM] [--pairs N]

Compare ratios within one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("not_null", "unique", "allowed_values", "recompute", "first_digit")


def _cpu() -> float:
    """CPU seconds of this process, all threads: steadier than wall time on a shared machine."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# The rules issue #2 requires of every item, and the ones it names (see ``minimum_catalog``).
REQUIRED_KINDS = ("source_tie_out", "not_null", "unique", "output_contract")
ACCURACY_KINDS = ("recompute", "range", "allowed_values", "referential", "cross_source")
NAMED_RULES = ("CR_04.tie_out", "IPE_09.orders_in_oms", "JDASH.agrees_with_bob", "IPE_08.remaining")


def minimum_catalog(catalog):
    """The pack cut down to what issue #2 asks of it: per item a source tie-out, critical
    columns not null, key unique (and the output contract, which runs no SQL), its first
    accuracy rule, and the rules the issue names. What the tests cost with no rule the pack
    adds beyond the issue (witnesses, freshness, first digits, history, further accuracy)."""
    import dataclasses

    items = {}
    for item_id, item in catalog.items.items():
        first = next((r.id for r in item.tests if r.kind in ACCURACY_KINDS), None)
        keep = tuple(r for r in item.tests if r.kind in REQUIRED_KINDS or r.id == first or r.id in NAMED_RULES)
        items[item_id] = dataclasses.replace(item, tests=keep)
    return dataclasses.replace(catalog, items=items)


def child_close(lake: str, period: str, shared: bool = True, minimum: bool = False) -> dict:
    """Extract every item for every entity, then run every item's tests; time both (wall and
    CPU), and each item's extraction and tests summed over the entities. ``minimum``: only the
    rules the issue requires (``minimum_catalog``)."""
    from soxauto.catalog import load_catalog
    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.extract import entities_in_scope, extract, time_bounds
    from soxauto.lake.binding import lake_binding
    from soxauto.period import Period
    from soxauto.recon import load_pack
    from soxauto.validation import Outcome, validate
    from soxauto.validation.history import HistoryStore
    from soxauto.validation.shared import SharedScans
    import tempfile

    catalog, p, window = load_catalog(), Period.parse(period), load_pack()
    if minimum:
        catalog = minimum_catalog(catalog)
    wall = {"extract": 0.0, "tests": 0.0}
    cpu = {"extract": 0.0, "tests": 0.0}
    per_item: dict[str, list[float]] = {i.id: [0.0, 0.0] for i in catalog.extractable()}
    outcomes = {o.value: 0 for o in Outcome}
    with DuckDBEngine(lake_binding(lake)) as engine, tempfile.TemporaryDirectory() as tmp:
        history = HistoryStore(Path(tmp) / "h.jsonl")
        entities = entities_in_scope(engine)
        # Laying out the shared batches (parsing every source query) is test work: counted.
        t0, c0 = time.perf_counter(), _cpu()
        scans = SharedScans(entities, catalog.extractable()) if shared else None
        wall["tests"] += time.perf_counter() - t0
        cpu["tests"] += _cpu() - c0
        for company in entities:
            t0, c0 = time.perf_counter(), _cpu()
            extracts = {}
            bounds = time_bounds(engine, window, p, company)  # horizon and window_end, once per entity
            for i in catalog.extractable():
                t = time.perf_counter()
                extracts[i.id] = extract(engine, i, p, company, bounds)
                per_item[i.id][0] += time.perf_counter() - t
            t1, c1 = time.perf_counter(), _cpu()
            for ex in extracts.values():
                t = time.perf_counter()
                for r in validate(engine, ex, others=extracts, history=history, shared=scans).results:
                    outcomes[r.outcome.value] += 1
                per_item[ex.item.id][1] += time.perf_counter() - t
            t2, c2 = time.perf_counter(), _cpu()
            wall["extract"] += t1 - t0
            wall["tests"] += t2 - t1
            cpu["extract"] += c1 - c0
            cpu["tests"] += c2 - c1
    return {"extract_seconds": round(wall["extract"], 2), "tests_seconds": round(wall["tests"], 2),
            "tests_pct_of_extract": round(100 * wall["tests"] / wall["extract"], 1),
            "extract_cpu_seconds": round(cpu["extract"], 2), "tests_cpu_seconds": round(cpu["tests"], 2),
            "tests_cpu_pct_of_extract": round(100 * cpu["tests"] / cpu["extract"], 1),
            "per_item_ms": {k: {"extract": round(1000 * x), "tests": round(1000 * t)} for k, (x, t) in per_item.items()},
            "outcomes": outcomes}


def child_workers(lake: str, period: str, tests: bool = True, workers: int = 2) -> dict:
    """The close's own shape (``close.run``): the tests' shared source batches first, on every
    core; then ``workers`` threads, each with its own engine of cpu_count // workers DuckDB
    threads, taking entities from a queue; per entity, each item is extracted (with the items
    its tests compare with), then tested as ``close.entity`` does, without the evidence and
    reconciliation stages. Run once with the tests and once without: the difference is the
    wall and CPU time the tests add to a close."""
    import queue
    import tempfile
    import threading
    from soxauto.catalog import load_catalog
    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.extract import entities_in_scope, extract, time_bounds
    from soxauto.lake.binding import lake_binding
    from soxauto.period import Period
    from soxauto.recon import load_pack
    from soxauto.validation import Outcome, validate
    from soxauto.validation.history import HistoryStore
    from soxauto.validation.shared import SharedScans

    catalog, p, binding = load_catalog(), Period.parse(period), lake_binding(lake)
    items, window = catalog.extractable(), load_pack()
    others = {i.id: i.compared_with for i in items}
    with DuckDBEngine(binding) as engine:
        entities = entities_in_scope(engine)
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for e in entities:
        todo.put(e)
    outcomes = {o.value: 0 for o in Outcome}
    guard, errors = threading.Lock(), []
    with tempfile.TemporaryDirectory() as tmp:
        history = HistoryStore(Path(tmp) / "h.jsonl")
        t0, c0 = time.perf_counter(), _cpu()
        scans = SharedScans(entities, items) if tests else None
        if scans is not None:  # as close.run.prepare_sources: the batches first, on every core
            with DuckDBEngine(binding, threads=os.cpu_count() or 1) as engine:
                scans.prepare(engine, p)

        def worker() -> None:
            try:
                with DuckDBEngine(binding, threads=max(1, (os.cpu_count() or 2) // workers)) as engine:
                    while True:
                        try:
                            company = todo.get_nowait()
                        except queue.Empty:
                            return
                        fresh: dict = {}
                        bounds = time_bounds(engine, window, p, company)
                        for item in items:
                            for name in (item.id, *others[item.id]):
                                if name not in fresh:
                                    fresh[name] = extract(engine, catalog.item(name), p, company, bounds)
                            if tests:
                                checked = validate(engine, fresh[item.id], others={o: fresh[o] for o in others[item.id]},
                                                   history=history, shared=scans)
                                with guard:
                                    for r in checked.results:
                                        outcomes[r.outcome.value] += 1
            except BaseException as e:  # noqa: BLE001  reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        # Not "wall_seconds": run_child gives that name to the child process's whole life.
        return {"seconds": round(time.perf_counter() - t0, 3), "cpu_seconds": round(_cpu() - c0, 3), "outcomes": outcomes}


def child_workers_extract(lake: str, period: str) -> dict:
    return child_workers(lake, period, tests=False)


def child_close_per_entity(lake: str, period: str) -> dict:
    return child_close(lake, period, shared=False)


def child_close_minimum(lake: str, period: str) -> dict:
    return child_close(lake, period, minimum=True)


def child_breakdown(lake: str, period: str) -> dict:
    """Where the tests' CPU goes, summed over the entities (ms): each shared batch, then per
    item each part of its statement by rule kind, the statement, and validate() as a whole
    (its excess over the statement is registration, history and building the results)."""
    from collections import defaultdict
    from soxauto.catalog import load_catalog
    from soxauto.engines.base import rows
    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.extract import entities_in_scope, extract, time_bounds
    from soxauto.lake.binding import lake_binding
    from soxauto.period import Period
    from soxauto.recon import load_pack
    from soxauto.validation import validate
    from soxauto.validation.plan import Plan, dataset_name
    from soxauto.validation.run import dense_rules
    from soxauto.validation.shared import SharedScans

    catalog, p, window = load_catalog(), Period.parse(period), load_pack()
    batches: dict[str, float] = {}
    parts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with DuckDBEngine(lake_binding(lake)) as engine:
        entities = entities_in_scope(engine)
        scans = SharedScans(entities, catalog.extractable())
        for company in entities:
            bounds = time_bounds(engine, window, p, company)
            extracts = {i.id: extract(engine, i, p, company, bounds) for i in catalog.extractable()}
            for ex in extracts.values():
                layout = scans.layout(ex.item)
                members = {}
                for rule_id, entry in layout.items():
                    c0 = _cpu()
                    members[rule_id] = scans.resolve(engine, entry, ex.parameters)[0]
                    batches[rule_id] = batches.get(rule_id, 0.0) + _cpu() - c0
                c0 = _cpu()
                validate(engine, ex, others=extracts, shared=scans)
                parts[ex.item.id]["validate"] += _cpu() - c0
                plan = Plan.of(ex.item, members, dense_rules(engine, ex))
                for name in [dataset_name(ex.item.id)] + [dataset_name(o) for o in dict.fromkeys(plan.others)]:
                    engine.register(name, extracts[name[3:].upper()].scan())
                for key, query in [("statement", plan.statement)] + [(_kind(ex.item, q), q.query) for q in plan.parts]:
                    c0 = _cpu()
                    rows(engine, query, ex.parameters)  # as validate() fetches its answers
                    parts[ex.item.id][key] += _cpu() - c0
    by_kind: dict[str, float] = defaultdict(float)
    for item in parts.values():
        for k, v in item.items():
            by_kind[k] += v
    ms = lambda v: round(1000 * v)  # noqa: E731
    return {"batches_ms": {k: ms(v) for k, v in batches.items() if v > 0.0005},
            "batches_total_ms": ms(sum(batches.values())),
            "by_kind_ms": {k: ms(v) for k, v in sorted(by_kind.items(), key=lambda x: -x[1])},
            "per_item_ms": {i: {k: ms(v) for k, v in d.items()} for i, d in parts.items()}}


def _kind(item, part) -> str:
    """A statement part's name: 'merged' for the merged aggregate, else its rule's kind."""
    if part.merged:
        return "part:merged"
    return "part:" + item.tests[int(part.names[0][1:].split("_")[0])].kind


def _dataset(lake: str, period: str):
    """CR_03 of every entity as one Arrow table, and the CR_03 item with the compared rules."""
    import pyarrow as pa
    from soxauto.catalog import load_catalog
    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.extract import entities_in_scope, extract
    from soxauto.lake.binding import lake_binding
    from soxauto.period import Period

    item = load_catalog().item("CR_03")
    with DuckDBEngine(lake_binding(lake)) as engine:
        parts = [extract(engine, item, Period.parse(period), c) for c in entities_in_scope(engine)]
    table = pa.concat_tables([x.table for x in parts])
    return parts[0], table


def child_soxauto(lake: str, period: str) -> dict:
    import dataclasses
    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.lake.binding import lake_binding
    from soxauto.validation import validate

    first, table = _dataset(lake, period)
    # The compared rules only; plus a first-digit rule like the other tools get.
    from soxauto.catalog.rules import RuleSpec
    rules = tuple(r for r in first.item.tests if r.kind in KINDS) + (
        RuleSpec("CR_03.first_digit", "first_digit", "warn", {"column": "amount"}),
        RuleSpec("CR_03.key2", "unique", "error", {"columns": ["company_id", "entry_no"]}),)
    item = dataclasses.replace(first.item, tests=rules)
    ex = dataclasses.replace(first, item=item, table=table)
    with DuckDBEngine(lake_binding(lake)) as engine:
        t0 = time.perf_counter()
        result = validate(engine, ex)
        seconds = time.perf_counter() - t0
    return {"rows": table.num_rows, "seconds": round(seconds, 3),
            "failing": {r.rule_id: r.failing_count for r in result.results}}


def _pandas_checks(df, integration_user: str) -> dict:
    import math
    critical = ["company_id", "entry_no", "posting_date", "gl_account_no", "amount", "user_id", "integration_type"]
    out = {"not_null": int(df[critical].isna().any(axis=1).sum())}
    out["key"] = int(df.duplicated(subset=["company_id", "entry_no"]).sum())
    out["allowed"] = int((~df["integration_type"].isin(["Integration", "Manual"])).sum())
    expected = (df["user_id"] == integration_user).map({True: "Integration", False: "Manual"})
    out["recompute"] = int((df["integration_type"] != expected).sum())
    lead = df["amount"].map(lambda d: abs(d)).pipe(lambda s: s[s >= 1]).map(lambda d: int(str(int(d))[0]))
    counts = lead.value_counts()
    n = int(counts.sum())
    out["first_digit_mad"] = round(sum(abs(counts.get(d, 0) / n - math.log10(1 + 1 / d)) for d in range(1, 10)) / 9, 5)
    return out


def child_pandas(lake: str, period: str) -> dict:
    first, table = _dataset(lake, period)
    t0 = time.perf_counter()
    df = table.to_pandas()  # decimals become Python Decimal objects: exact, as money must be
    checks = _pandas_checks(df, first.parameters["integration_user"])
    return {"rows": len(df), "seconds": round(time.perf_counter() - t0, 3), "failing": checks}


def child_pandera(lake: str, period: str) -> dict:
    import pandera.pandas as pa_
    first, table = _dataset(lake, period)
    user = first.parameters["integration_user"]
    t0 = time.perf_counter()
    df = table.to_pandas()
    critical = ["company_id", "entry_no", "posting_date", "gl_account_no", "amount", "user_id", "integration_type"]
    schema = pa_.DataFrameSchema(
        {c: pa_.Column(nullable=False) for c in critical}
        | {"integration_type": pa_.Column(str, pa_.Check.isin(["Integration", "Manual"]), nullable=False)},
        checks=[pa_.Check(lambda d: (d["integration_type"] == (d["user_id"] == user).map({True: "Integration", False: "Manual"})),
                          name="recompute")],
        unique=["company_id", "entry_no"],
    )
    try:
        schema.validate(df, lazy=True)
        failures = 0
    except pa_.errors.SchemaErrors as e:
        failures = len(e.failure_cases)
    return {"rows": len(df), "seconds": round(time.perf_counter() - t0, 3), "failure_cases": failures}


def run_child(name: str, lake: str, period: str) -> dict:
    argv = [sys.executable, __file__, "--child", name, "--lake", lake, "--period", period]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed:\n{err}")
    result = json.loads(out)
    result["wall_seconds"] = round(time.perf_counter() - t0, 2)
    result["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--period", default="latest")
    ap.add_argument("--child")
    ap.add_argument("--pairs", type=int, default=2, help="close-shaped runs with and without the tests")
    args = ap.parse_args()
    if args.period == "latest":
        import json as _j
        truth = _j.loads((Path(args.lake) / "ground_truth.json").read_text())
        args.period = max(r["period"] for r in truth["results"])
    if args.child:
        print(json.dumps({"close": child_close, "close_per_entity": child_close_per_entity, "close_minimum": child_close_minimum,
                          "breakdown": child_breakdown,
                          "workers": child_workers, "workers_extract": child_workers_extract,
                          "soxauto": child_soxauto, "pandas": child_pandas, "pandera": child_pandera}[args.child](args.lake, args.period)))
        return
    report = {"lake": args.lake, "period": args.period}
    for name, label in (("close", "shared source scans (as the close runs)"), ("close_per_entity", "each entity's own source queries"),
                        ("close_minimum", "only the rules the issue requires, shared source scans")):
        report[name] = c = run_child(name, args.lake, args.period)
        print(f"{label}: extraction {c['extract_seconds']} s, C&A tests {c['tests_seconds']} s = {c['tests_pct_of_extract']} % "
              f"(target <= 30 %), peak {c['peak_rss_mib']} MiB, outcomes {c['outcomes']}")
        print(f"  CPU: extraction {c['extract_cpu_seconds']} s, C&A tests {c['tests_cpu_seconds']} s = {c['tests_cpu_pct_of_extract']} %")
        print("  per item, ms summed over entities (extraction / tests): "
              + ", ".join(f"{k} {v['extract']}/{v['tests']}" for k, v in c["per_item_ms"].items()))
    # As the close runs (two workers, one DuckDB thread each): runs with and without the tests,
    # alternated, so that the machine's load falls on both alike.
    pairs = [(run_child("workers_extract", args.lake, args.period), run_child("workers", args.lake, args.period))
             for _ in range(args.pairs)]
    report["workers"] = [{"extract_only": x, "with_tests": w} for x, w in pairs]
    for x, w in pairs:
        added, added_cpu = w["seconds"] - x["seconds"], w["cpu_seconds"] - x["cpu_seconds"]
        print(f"as the close runs (2 workers): extraction alone {x['seconds']} s wall / {x['cpu_seconds']} s CPU, "
              f"with the tests {w['seconds']} s / {w['cpu_seconds']} s: the tests add {100 * added / x['seconds']:.1f} % "
              f"wall, {100 * added_cpu / x['cpu_seconds']:.1f} % CPU, outcomes {w['outcomes']}")
    report["breakdown"] = b = run_child("breakdown", args.lake, args.period)
    print(f"breakdown (CPU ms over the entities): shared batches {b['batches_total_ms']}, "
          + ", ".join(f"{k} {v}" for k, v in b["by_kind_ms"].items()))
    for name in ("soxauto", "pandas", "pandera"):
        report[name] = r = run_child(name, args.lake, args.period)
        print(f"{name:8} {r['rows']:>10,} rows: checks {r['seconds']:>8} s, peak {r['peak_rss_mib']:>7} MiB")
    base = report["soxauto"]["seconds"]
    for name in ("pandas", "pandera"):
        report[f"{name}_over_soxauto"] = round(report[name]["seconds"] / base, 1)
        print(f"{name} takes {report[name + '_over_soxauto']}x the time of SOXauto's compiled SQL")
    out = ROOT / "bench" / "results" / "validation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
