import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import os

# the search's parallelism is its processes: one BLAS/OpenMP thread each (set before numpy loads)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

from pathlib import Path

from umxmr.data.layout import load_manifest
from umxmr.oracle.search import cpu_jobs, evaluate_windows, search_windows, write_search

table = evaluate_windows(
    load_manifest(Path(snakemake.input.manifest))["valid"],
    search_windows(snakemake.params.oracle, snakemake.wildcards.search),
    snakemake.params.targets,
    jobs=cpu_jobs(snakemake.threads),
)
write_search(Path(snakemake.output[0]), table)
