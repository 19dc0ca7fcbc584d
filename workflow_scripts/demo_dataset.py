import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.demo import generate_demo

demo = snakemake.params.demo
generate_demo(
    Path(snakemake.output[0]),
    n_train=demo["tracks"]["train"],
    n_valid=demo["tracks"]["valid"],
    n_test=demo["tracks"]["test"],
    duration=demo["duration"],
    seed=demo["seed"],
)
