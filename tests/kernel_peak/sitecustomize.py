"""Kernel peak memory of every Snakemake script job, for tests/test_resources.py and bench/full_length.py.

Put this folder on PYTHONPATH and set UMXMR_PEAK_DIR: each Snakemake `script:` job then writes,
when it exits, ``<UMXMR_PEAK_DIR>/<pid>.json`` with its rule, wildcards, attempt, declared mem_mb
and the kernel's peak resident memory (`getrusage`: ru_maxrss of the job's process, and the
largest ru_maxrss among the child processes it waited for). Python imports `sitecustomize` at
start-up; processes without Snakemake's `snakemake` object (Snakemake itself, forked workers)
write nothing.
"""

import atexit
import json
import os
import resource
import sys

_DIR = os.environ.get("UMXMR_PEAK_DIR")
_PID = os.getpid()


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
    path = os.path.join(_DIR, f"{_PID}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)


if _DIR:
    atexit.register(_record)
