import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.stems import decode_musdb18
from umxmr.logs import setup_logging

setup_logging()
decode_musdb18(Path(snakemake.params.root), Path(snakemake.output[0]))
