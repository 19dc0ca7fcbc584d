import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import torch

from umxmr.data.layout import load_manifest
from umxmr.training.stats import dataset_statistics, save_statistics

torch.set_num_threads(snakemake.threads)
tracks = load_manifest(Path(snakemake.input[0]))
mean, std = dataset_statistics(tracks["train"], int(snakemake.wildcards.n_fft), int(snakemake.wildcards.hop))
save_statistics(Path(snakemake.output[0]), mean, std)
