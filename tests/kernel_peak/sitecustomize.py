"""Kernel peak memory of every Snakemake script job, for tests/test_resources.py and bench/full_length.py.

Put this folder on PYTHONPATH and set UMXMR_PEAK_DIR: each Snakemake `script:` job then writes,
when it exits, ``<UMXMR_PEAK_DIR>/<pid>.json`` with its rule, wildcards, attempt, declared mem_mb
and the kernel's peak resident memory (`getrusage`: ru_maxrss of the job's process, and the
largest ru_maxrss among the child processes it waited for). Python imports `sitecustomize` at
start-up; processes without Snakemake's `snakemake` object (Snakemake itself, forked workers)
write nothing.

With UMXMR_PEAK_CGROUP set to a writable cgroup-v1 memory folder (e.g.
/sys/fs/cgroup/memory/umxmr-bench, as root), each job also moves itself at start into a
cgroup of its own below it and records the cgroup's peak (``memory.max_usage_in_bytes``) at
exit: the job and all its forked workers together, shared pages once, as a SLURM cgroup
limit counts them (page cache the job faults in is charged too).
"""

import atexit
import json
import os
import resource
import sys

_DIR = os.environ.get("UMXMR_PEAK_DIR")
_CGROUP_ROOT = os.environ.get("UMXMR_PEAK_CGROUP")
_PID = os.getpid()
_CGROUP = None


def _join_cgroup() -> None:
    """Move this process into a fresh memory cgroup `<UMXMR_PEAK_CGROUP>/<pid>`."""
    global _CGROUP
    path = os.path.join(_CGROUP_ROOT, str(_PID))
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(_PID))
    _CGROUP = path


def _record() -> None:
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is None or os.getpid() != _PID:
        return
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "rule": job.rule,
        "wildcards": dict(job.wildcards.items()),
        "attempt": getattr(job, "attempt", None),
        "threads": job.threads,
        "mem_mb": job.resources.get("mem_mb"),
        "runtime": job.resources.get("runtime"),
        "self_mb": own.ru_maxrss * 1024 / 1e6,
        "children_mb": children.ru_maxrss * 1024 / 1e6,
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }
    if _CGROUP:
        with open(os.path.join(_CGROUP, "memory.max_usage_in_bytes")) as f:
            record["cgroup_peak_mb"] = int(f.read()) / 1e6
    path = os.path.join(_DIR, f"{_PID}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)


if _DIR:
    if _CGROUP_ROOT:
        _join_cgroup()
    atexit.register(_record)
