import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.demo import generate_periphery_raw

demo = snakemake.params.demo
generate_periphery_raw(
    Path(snakemake.output[0]),
    songs=demo["periphery"]["songs"],
    duration=demo["periphery"]["duration"],
    seed=demo["seed"],
)
