import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.resample import resample_tree
from umxmr.logs import setup_logging

setup_logging()
resample_tree(Path(snakemake.params.root), snakemake.params.stems, Path(snakemake.output[0]))
