import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.layout import scan_dataset, write_manifest

dataset = snakemake.params.dataset
root = Path(dataset["root"])
tracks = scan_dataset(dataset["kind"], root, dataset["options"])
write_manifest(Path(snakemake.output[0]), dataset["kind"], root, tracks)
