import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.training.seeds import select_best_seed

select_best_seed(
    snakemake.params.seeds,
    [Path(p) for p in snakemake.input.summaries],
    [Path(p) for p in snakemake.input.weights],
    Path(snakemake.output.pth),
    Path(snakemake.output.json),
)
