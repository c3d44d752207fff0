"""Benchmark: `jicai national` (the §7 indicators from Parquet, jicai/national/run.py) on K provinces made by
relabelling one exported province, on DuckDB and on Spark `local[1]`/`local[2]`, in the same run.

    .venv/bin/python bench/national.py DIR [--province 370000] [--as-of 2025-08-31] [--k 1,2,3]
        [--engines duckdb:1,duckdb:2,spark:1,spark:2] [--repeat 1] [--work /tmp/jicai-bench-national]
        [--spark-budget 900] [--timeout 0] [--spark-memory 6g] [--target-seconds 10]

DIR is a `jicai export` folder holding DIR/<province>/ (e.g. the province demo: `jicai export /work/natbench
--region 370000`; the small demo for a quick check). The province is copied max(K) times into WORK under new
province codes 910000, 920000, … (prefixes no real province uses), rewriting every column that carries the
province code or the region path (jicai.national.relabel). Companies' and products' codes are national
(the same company and product in every province) and ids are per province (the engines make each key
unique across provinces, engines.py), so they stay. Every file is copied, not linked, so K provinces are K
times the bytes on disk and in the page cache, as real provinces would be. WORK/k<K>/ holds links to the first K.

Each measurement runs in its own process (Spark allows one master per process): `run_national(WORK/k<K>,
D, engine)` timed as a whole, from checking the input files to the renamed result folder with alerts and
rankings.xlsx, i.e. what `jicai national` waits for; the Spark session is started before the clock (its
start is reported as `session_seconds`). An engine is NAME:CORES — DuckDB with that many threads
(JICAI_DUCKDB_THREADS), Spark with master local[CORES]. With --repeat N the same process runs N times
(Spark keeps its warm JVM) and `seconds` is the fastest.

One JSON line per measurement on stdout: {"name": "national", "engine", "cores", "k", "rows" (order
lines), "seconds", "rows_per_second", "rows_per_second_per_core", "runs", "cpu_seconds" (user + system CPU of
the fastest run, DuckDB's threads or Spark's JVM included: on a shared machine it tells the work from the
wait), "session_seconds",
"slowest_steps", "alerts", "target_seconds", "met"}; the target (the issue's: one province on DuckDB
≤ 10 s) applies to DuckDB at K = 1 on all cores, `met` is null elsewhere. Spark at a K whose time,
extrapolated linearly from its smaller K, exceeds --spark-budget seconds is not run: a line with
"skipped" and the estimate says so; a measurement still running after --timeout seconds is stopped and
reported as "timed_out". Progress goes to stderr.
"""

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from jicai.national.relabel import relabel

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10
# Relabelled provinces get these two-digit prefixes: no real province code starts with 9.
PREFIXES = ("91", "92", "93", "94", "95", "96", "97", "98", "99")


def emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False, default=str), flush=True)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def prepare(source: Path, work: Path, ks: list[int]) -> dict[int, Path]:
    """WORK/provinces/<code>/ relabelled copies (reused when already made from the same source), and
    WORK/k<K>/<code> links to the first K of them."""
    old = source.name
    provinces = work / "provinces"
    provinces.mkdir(parents=True, exist_ok=True)
    stamp_of = {p.name: p.stat().st_mtime_ns for p in source.glob("*.parquet")}
    codes = [f"{PREFIXES[i]}0000" for i in range(max(ks))]
    for code in codes:
        stamp = provinces / f".{code}.source"
        expected = json.dumps({"source": str(source.resolve()), "files": stamp_of}, sort_keys=True)
        if (provinces / code).is_dir() and stamp.is_file() and stamp.read_text() == expected:
            say(f"reuse {provinces / code}")
            continue
        started = time.perf_counter()
        relabel(source, provinces / code, old, code)
        stamp.write_text(expected)
        say(f"relabelled {old} → {code} in {time.perf_counter() - started:.1f} s")
    dirs = {}
    for k in ks:
        folder = work / f"k{k}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for code in codes[:k]:
            (folder / code).symlink_to(provinces / code, target_is_directory=True)
        dirs[k] = folder
    return dirs


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its live child processes (Spark's
    JVM), from getrusage and /proc/<pid>/stat."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def order_lines(folder: Path) -> int:
    return sum(pq.ParquetFile(p / "order_lines.parquet").metadata.num_rows for p in sorted(folder.iterdir()))


def child(args) -> None:
    """One (engine, cores, K) measurement in this process; prints its JSON line."""
    engine, cores, k = args.child.split(":")
    cores = int(cores)
    if engine == "duckdb":
        os.environ["JICAI_DUCKDB_THREADS"] = str(cores)
    else:
        os.environ["JICAI_SPARK_MASTER"] = f"local[{cores}]"
        if args.spark_memory:
            os.environ["JICAI_SPARK_DRIVER_MEMORY"] = args.spark_memory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from jicai.national.run import run_national

    session_seconds = None
    if engine == "spark":
        from jicai.national.engines import spark_session

        started = time.perf_counter()
        spark_session()
        session_seconds = round(time.perf_counter() - started, 2)
    folder = Path(args.work) / f"k{k}"
    output = Path(args.work) / f"out-{engine}-{cores}-k{k}"
    rows = order_lines(folder)
    runs, cpu, steps, alerts = [], [], {}, 0
    from jicai.national.engines import compile_sql

    for _ in range(args.repeat):
        compile_sql.cache_clear()  # each run compiles its SQL, as `jicai national` does
        marks: list[tuple[str, float]] = []
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        result = run_national(
            folder,
            dt.date.fromisoformat(args.as_of),
            engine,
            output=output,
            say=lambda text, marks=marks: (
                marks.append((text.split(": ", 1)[-1], time.perf_counter())),
                say(text),
            ),
        )
        ended = time.perf_counter()
        runs.append(round(ended - started, 2))
        cpu.append(round(cpu_seconds() - cpu_started, 2))
        alerts = result.alert_count
        # Time per step: from its start to the next one's. The last engine step also carries the Python tail
        # (alerts read back, divided and sorted; rankings.xlsx; rename), as run_national reports no more.
        marks.insert(0, ("inputs, contexts, engine set-up", started))
        marks[-1] = (f"{marks[-1][0]} + python tail", marks[-1][1])
        marks.append(("end", ended))
        if runs[-1] == min(runs):
            steps = {name: round(marks[i + 1][1] - t, 2) for i, (name, t) in enumerate(marks[:-1])}
        shutil.rmtree(output, ignore_errors=True)
    seconds = min(runs)
    applies = engine == "duckdb" and int(k) == 1 and cores == (os.cpu_count() or cores)
    emit(
        name="national",
        engine=engine,
        cores=cores,
        k=int(k),
        rows=rows,
        seconds=seconds,
        rows_per_second=round(rows / seconds),
        rows_per_second_per_core=round(rows / seconds / cores),
        runs=runs,
        cpu_seconds=cpu[runs.index(seconds)],
        session_seconds=session_seconds,
        slowest_steps=dict(sorted(steps.items(), key=lambda kv: -kv[1])[:6]),
        alerts=alerts,
        target_seconds=args.target_seconds if applies else None,
        met=(seconds <= args.target_seconds) if applies else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="a `jicai export` folder holding DIR/<province>/")
    parser.add_argument(
        "--province", default="", help="the exported province to copy (default: the only one)"
    )
    parser.add_argument("--as-of", default="2025-08-31")
    parser.add_argument("--k", default="1,2,3", help="numbers of provinces")
    parser.add_argument("--engines", default="duckdb:1,duckdb:2,spark:1,spark:2", help="NAME:CORES,…")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", default="/tmp/jicai-bench-national")
    parser.add_argument("--spark-budget", type=float, default=900, help="seconds one Spark run may take")
    parser.add_argument("--spark-memory", default="", help="Spark driver memory (JICAI_SPARK_DRIVER_MEMORY)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds before a measurement is stopped")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    exported = sorted(p for p in Path(args.dir).iterdir() if p.is_dir() and p.name.isdigit())
    source = next((p for p in exported if p.name == args.province), None) if args.province else None
    if source is None:
        if args.province or len(exported) != 1:
            raise SystemExit(f"{args.dir}: give --province, one of {[p.name for p in exported]}")
        source = exported[0]
    ks = sorted({int(k) for k in args.k.split(",")})
    engines = [(e.split(":")[0], int(e.split(":")[1])) for e in args.engines.split(",")]
    dirs = prepare(source, Path(args.work), ks)

    def unmeasured(engine, cores, k, **why) -> None:
        """The JSON line of a measurement that was skipped or stopped, saying why."""
        emit(name="national", engine=engine, cores=cores, k=k, rows=order_lines(dirs[k]), **why)

    for engine, cores in engines:
        done: dict[int, float] = {}  # K → seconds, for the Spark budget
        for k in ks:
            if engine == "spark" and done:
                last = max(done)
                estimate = done[last] * k / last
                if estimate > args.spark_budget:
                    unmeasured(
                        engine,
                        cores,
                        k,
                        skipped=f"estimated {estimate:.0f} s (linear from K={last}) > --spark-budget "
                        f"{args.spark_budget:.0f} s",
                    )
                    continue
            say(f"{engine} cores={cores} K={k}")
            command = [sys.executable, __file__, args.dir, "--child", f"{engine}:{cores}:{k}"]
            command += ["--as-of", args.as_of, "--repeat", str(args.repeat), "--work", args.work]
            command += ["--target-seconds", str(args.target_seconds)]
            if args.spark_memory:
                command += ["--spark-memory", args.spark_memory]
            # Its own process group, so a timeout also stops the Spark JVM the child started.
            proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True
            )
            try:
                out, _ = proc.communicate(timeout=args.timeout or None)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                unmeasured(engine, cores, k, timed_out=args.timeout)
                continue
            line = out.strip().splitlines()[-1] if out.strip() else ""
            if proc.returncode != 0 or not line.startswith("{"):
                emit(name="national", engine=engine, cores=cores, k=k, failed=f"exit {proc.returncode}")
                continue
            print(line, flush=True)
            done[k] = json.loads(line)["seconds"]


if __name__ == "__main__":
    main()
