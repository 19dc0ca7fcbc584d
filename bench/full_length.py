"""Length rehearsal: the real rules through Snakemake on tracks of 4, 7 and 10 minutes.

For each length, a working directory with the demo dataset at that length (1 train, 1 valid,
1 test track; the demo's synthesis, stereo 44.1 kHz) and umx-mr-0 at published size (hidden
512, 3 BLSTM layers, batch 16) trained for one epoch of one batch (16 excerpts of 6 s): near-random
weights, the published model's memory. Snakemake runs the rules that lead to the test track's
museval JSONs: demo_dataset, dataset_manifest, dataset_statistics, train (4 targets),
select_seed, separator_config, separate, oracle_estimates and evaluate (umx-mr-0 and the
oracle), one job at a time (`--cores 2`, the rules' threads).

Every job runs under a memory cap: Snakemake and its jobs inherit `prlimit --data=CAP`
(RLIMIT_DATA, the private writable memory a process may map; Linux refuses more, and the job
fails with a MemoryError instead of taking the machine down). Each job's kernel peak
(getrusage ru_maxrss of the job and of its largest child) and the mem_mb Snakemake gave it
come from tests/kernel_peak/sitecustomize.py; run as root on a machine with cgroup v1, each job
also gets a memory cgroup of its own and its peak there (job and workers, shared pages once) is
the figure for the rules with forked workers. Prints rule x length -> peak MB, declared mem_mb,
CPU seconds and wall seconds; a job that failed under the cap prints "> cap".

    python bench/full_length.py                      # 4, 7 and 10 minutes (about an hour, >= 24 GB)
    python bench/full_length.py --minutes 4 --cap-gb 20
    python bench/full_length.py --minutes 0.25 1 --cap-gb 6 --keep /tmp/fl
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TEST_TRACK = "demo-test-01"
# rules whose children are forked workers that compute: their memory adds to the job's; other
# jobs' only children are short programs (git) whose ru_maxrss counts the pages they shared with
# the job before their exec (tests/test_resources.py's job_peak_mb)
WORKER_RULES = {"evaluate", "oracle_search"}
RULES = [
    "dataset_manifest",
    "dataset_statistics",
    "train",
    "separate",
    "oracle_estimates",
    "evaluate",
]


def config_for(seconds: float) -> dict:
    """The repository's config with the demo at `seconds` per track, umx-mr-0 at published size."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["demo"] = {
        "seed": 42,
        "duration": seconds,
        "tracks": {"train": 1, "valid": 1, "test": 1},
        "periphery": config["demo"]["periphery"],
        # published model and batch; one batch of 16 excerpts, one epoch
        "overrides": {"train": {"epochs": 1, "samples_per_track": 16, "patience": 1}},
    }
    config["evaluation"]["variants"] = ["umx-mr-0"]
    config["separation"]["device"] = "cpu"
    config["defaults"] = {"train": {"device": "cpu"}}
    return config


def run_length(minutes: float, cap_bytes: int, workdir: Path, mem_gb: float | None) -> tuple[list[dict], float, str]:
    """Run the rules on tracks of `minutes`; the jobs' peak records, the wall time, Snakemake's log."""
    if workdir.exists():
        shutil.rmtree(workdir)
    peaks = workdir / "peaks"
    peaks.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config_for(minutes * 60)))
    targets = [f"results/{variant}/museval/{TEST_TRACK}.json" for variant in ("umx-mr-0", "oracle-phasemix")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "kernel_peak"), str(ROOT)]),
        "UMXMR_PEAK_DIR": str(peaks),
    }
    cgroups = memory_cgroup_root()
    if cgroups:
        env["UMXMR_PEAK_CGROUP"] = str(cgroups)
    command = [
        "prlimit", f"--data={cap_bytes}",
        SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--keep-going", *targets,
        *(["--resources", f"mem_mb={int(mem_gb * 1000)}"] if mem_gb else []),
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if cgroups:  # every job has ended: its cgroup is empty and can go
        for group in sorted(cgroups.iterdir(), reverse=True):
            if group.is_dir():
                group.rmdir()
        cgroups.rmdir()
    (workdir / "snakemake.log").write_text(result.stdout + result.stderr)
    records = [json.loads(p.read_text()) for p in sorted(peaks.glob("*.json"))]
    return records, wall, result.stdout + result.stderr


def memory_cgroup_root() -> Path | None:
    """A fresh cgroup-v1 memory folder for the jobs' own cgroups, where this user may make one
    (root, cgroup v1 mounted); None elsewhere (then only the getrusage figures are printed)."""
    base = Path("/sys/fs/cgroup/memory")
    if os.geteuid() != 0 or not (base / "cgroup.procs").exists():
        return None
    root = base / f"umxmr-bench-{os.getpid()}"
    try:
        root.mkdir()
    except OSError:
        return None
    return root


def failed_under_cap(workdir: Path, rule: str) -> bool:
    """A job of `rule` whose log shows it ran out of the capped memory."""
    for log in (workdir / "logs").rglob("*.log"):
        text = log.read_text(errors="replace")
        if rule_of_log(log, workdir) == rule and ("MemoryError" in text or "Cannot allocate memory" in text or "DefaultCPUAllocator" in text):
            return True
    return False


def rule_of_log(log: Path, workdir: Path) -> str | None:
    parts = log.relative_to(workdir / "logs").parts
    name = log.name
    if parts[0] == "train":
        return "select_seed" if name.endswith(".select_seed.log") else "train"
    if parts[0] == "separate":
        return "separator_config" if name == "separator.log" else "separate"
    if parts[0] == "evaluate":
        return "oracle_estimates" if parts[1] == "oracle" else ("evaluate" if len(parts) == 3 else parts[1][:-4])
    if parts[0] == "data":
        return "dataset_statistics" if parts[1] == "stats" else ("dataset_manifest" if name.endswith(".manifest.log") else name[:-4])
    return None


def wall_seconds(workdir: Path, rule: str, wildcards: dict) -> float | None:
    """The job's wall seconds from its benchmark file (Snakemake's `s` column)."""
    if rule == "oracle_estimates":  # benchmarks/separate/oracle-phasemix/<track>.tsv
        tsv = workdir / "benchmarks" / "separate" / "oracle-phasemix" / f"{wildcards['track']}.tsv"
        with tsv.open() as f:
            return float(next(csv.DictReader(f, delimiter="\t"))["s"])
    for tsv in (workdir / "benchmarks").rglob("*.tsv"):
        rel = str(tsv.relative_to(workdir / "benchmarks"))
        if all(str(v) in rel for v in wildcards.values()) and rule_of_log(workdir / "logs" / rel.replace(".tsv", ".log"), workdir) == rule:
            with tsv.open() as f:
                return float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[4, 7, 10])
    parser.add_argument("--cap-gb", type=float, default=20.0, help="memory cap per job (RLIMIT_DATA), GB")
    parser.add_argument("--mem-gb", type=float, help="--resources mem_mb for Snakemake: jobs that together need more wait")
    parser.add_argument("--keep", type=Path, help="keep the working directories under this folder")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="full_length_"))
    cap = int(args.cap_gb * 1e9)
    print(f"cap {args.cap_gb:g} GB per job (prlimit --data); working directories under {base}", flush=True)
    rows = []
    for minutes in args.minutes:
        workdir = base / f"{minutes:g}min"
        records, wall, log = run_length(minutes, cap, workdir, args.mem_gb)
        print(f"\n{minutes:g} min: Snakemake ran {wall:.0f} s", flush=True)
        print(f"{'rule':<20} {'wildcards':<34} {'peak MB':>9} {'cgroup MB':>9} {'mem_mb':>8} {'CPU s':>8} {'wall s':>8}")
        failed = set(re.findall(r"Error in rule (\w+):", log))
        over = {rule for rule in failed if failed_under_cap(workdir, rule)}
        seen = set()
        for rec in sorted(records, key=lambda r: RULES.index(r["rule"]) if r["rule"] in RULES else 99):
            both = (rec["self_mb"], rec["children_mb"])
            cgroup = rec.get("cgroup_peak_mb")
            # forked workers: the cgroup's peak counts their shared pages once; without it,
            # the sum of the job's and its largest worker's ru_maxrss (shared pages twice)
            peak = (cgroup or sum(both)) if rec["rule"] in WORKER_RULES else max(both)
            seen.add(rec["rule"])
            wild = ",".join(f"{v}" for v in rec["wildcards"].values())[:34]
            s = wall_seconds(workdir, rec["rule"], rec["wildcards"])
            mark = "  > cap" if rec["rule"] in over else ("  failed" if rec["rule"] in failed else "")
            print(f"{rec['rule']:<20} {wild:<34} {peak:>9.0f} {cgroup or float('nan'):>9.0f} {str(rec['mem_mb']):>8} {rec['cpu_s']:>8.0f} {s if s is not None else float('nan'):>8.0f}{mark}")
            rows.append({"minutes": minutes, **rec, "peak_mb": peak, "wall_s": s, "over_cap": rec["rule"] in over})
        for rule in RULES:
            if rule not in seen and rule in over:
                print(f"{rule:<20} {'':<34} {'> cap':>9}")
                rows.append({"minutes": minutes, "rule": rule, "peak_mb": None, "over_cap": True})
    (base / "full_length.json").write_text(json.dumps(rows, indent=1))
    print(f"\nrecords: {base / 'full_length.json'}")


if __name__ == "__main__":
    main()
