import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.layout import scan_musdb_layout, write_manifest

kind, root = snakemake.params.kind, Path(snakemake.params.root)
setup_file = "setup.yaml" if kind == "demo" else None
write_manifest(Path(snakemake.output[0]), kind, root, scan_musdb_layout(root, setup_file))
