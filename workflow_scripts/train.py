import sys
from pathlib import Path

# a resumed training appends to the log of the attempt it continues (interruption included)
resuming = Path(snakemake.params.checkpoint).exists()
sys.stderr = open(snakemake.log[0], "a" if resuming else "w", buffering=1)

import torch

from umxmr.data.layout import training_tracks
from umxmr.logs import setup_logging
from umxmr.provenance import provenance
from umxmr.settings import target_settings
from umxmr.training.stats import load_statistics
from umxmr.training.train import train_target

setup_logging()
torch.set_num_threads(snakemake.threads)
target = snakemake.wildcards.target
# base STFT first, then any further STFT the model reads (umx-mr-4); none for umx-mr-7
stats = [load_statistics(Path(path)) for path in snakemake.input.stats]
train_target(
    # the STFT of a variant with stft.from_oracle is read from best.json here, at job time
    target_settings(snakemake.params.settings, target, next(iter(snakemake.input.oracle), None)),
    target,
    training_tracks(Path(snakemake.input.manifest), [Path(p) for p in snakemake.input.extra]),
    stats[0] if stats else (None, None),
    checkpoint=Path(snakemake.params.checkpoint),
    out_pth=Path(snakemake.output.pth),
    out_json=Path(snakemake.output.json),
    provenance=provenance(snakemake.config, Path(snakemake.scriptdir).parent),
    extra_stats=stats[1:],
)
