import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.logs import setup_logging
from umxmr.models.pretrained import write_published

setup_logging()
weights = snakemake.params.weights
write_published(
    snakemake.params.pretrained,
    snakemake.wildcards.target,
    Path(weights) if weights else None,
    Path(snakemake.output.pth),
    Path(snakemake.output.json),
)
