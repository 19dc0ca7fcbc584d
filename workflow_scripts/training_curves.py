import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.plots import training_curves

# inputs are results/{variant}/{target}.json
histories = {}
for path in map(Path, snakemake.input):
    histories.setdefault(path.parent.name, {})[path.stem] = json.loads(path.read_text())
training_curves(histories, Path(snakemake.output[0]))
