import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.plots import training_curves

training_curves(
    {target: json.loads(Path(path).read_text()) for target, path in zip(snakemake.params.targets, snakemake.input)},
    Path(snakemake.output[0]),
    title=snakemake.wildcards.variant,
)
