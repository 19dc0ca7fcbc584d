import re
import sys
from pathlib import Path

# the package next to this Snakefile, whatever else is installed
sys.path.insert(0, workflow.basedir)

from umxmr.config_check import validate_config
from umxmr.data.demo import demo_track_names
from umxmr.data.layout import DatasetError
from umxmr.resolutions import stft_resolutions
from umxmr.settings import resolve_variant

validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")

TARGETS = config["targets"]
KIND = config["dataset"]["kind"]
ROOT = Path(config["dataset"]["root"])
MANIFEST = f"data/{KIND}.manifest.json"


def get_test_tracks():
    """Test track names, known before any job runs so the DAG is complete."""
    if KIND == "demo":
        counts = config["demo"]["tracks"]
        return demo_track_names(counts["train"], counts["valid"], counts["test"])[
            "test"
        ]
    test = ROOT / "test"
    if not test.is_dir():
        raise DatasetError(
            f"dataset.root '{ROOT}': no test/ folder there; point dataset.root in config.yaml "
            "at your MUSDB18-HQ folder (the one holding train/ and test/)"
        )
    return sorted(p.name for p in test.iterdir() if p.is_dir())


TEST_TRACKS = get_test_tracks()


wildcard_constraints:
    variant="|".join(map(re.escape, config["variants"])),
    target="|".join(TARGETS),
    track="|".join(map(re.escape, TEST_TRACKS)),


def variant_settings(variant):
    return resolve_variant(config, variant)


def get_dataset_input(wildcards):
    """The demo folder when the workflow generates the data; nothing for a user's dataset."""
    return [config["dataset"]["root"]] if KIND == "demo" else []


def get_dataset_root(wildcards):
    return config["dataset"]["root"]


def get_stats(wildcards):
    """Statistics of every STFT the variant's model reads, base first (none for nsgt)."""
    return [
        f"data/stats/nfft{n_fft}_hop{hop}.npz"
        for n_fft, hop in stft_resolutions(variant_settings(wildcards.variant))
    ]


def get_target_models(wildcards):
    return {
        "weights": expand(
            "results/{variant}/{target}.pth", variant=wildcards.variant, target=TARGETS
        ),
        "summaries": expand(
            "results/{variant}/{target}.json", variant=wildcards.variant, target=TARGETS
        ),
    }


def get_references(wildcards):
    """The test track's stems: read from the dataset, or produced by the demo rule."""
    return get_dataset_input(wildcards) + [MANIFEST]


def get_museval_jsons(wildcards):
    return expand(
        "results/{variant}/museval/{track}.json",
        variant=config["evaluation"]["variants"],
        track=TEST_TRACKS,
    )


def get_final_output():
    return ["results/boxplot.pdf", "results/summary.csv"]
