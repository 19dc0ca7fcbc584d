import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd

from umxmr.oracle.search import best_windows, write_best
from umxmr.provenance import provenance

searches = {Path(p).stem.removeprefix("search_"): pd.read_csv(p) for p in snakemake.input.searches}
best = best_windows(searches, pd.read_csv(snakemake.input.controls), snakemake.params.targets, snakemake.params.oracle["controls"])
oracle = snakemake.params.oracle
seeds = oracle["seeds"] if oracle["mode"] == "random" else None  # the exhaustive grid draws nothing
run = provenance(snakemake.config, Path(snakemake.scriptdir).parent)
write_best(Path(snakemake.output[0]), best | {"provenance": {**run, "device": "cpu", "seed": seeds}})
