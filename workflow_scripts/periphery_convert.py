import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.periphery import convert_periphery
from umxmr.logs import setup_logging

setup_logging()
periphery = snakemake.params.periphery
convert_periphery(
    Path(periphery["raw"]),
    Path(snakemake.output[0]),
    mapping=periphery["mapping"],
    other_rates=periphery["other_rates"],
    unequal_lengths=periphery["unequal_lengths"],
)
