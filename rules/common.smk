import math
import re
import sys
from pathlib import Path

# the package next to this Snakefile, whatever else is installed
sys.path.insert(0, workflow.basedir)

from umxmr.config_check import validate_config
from umxmr.data.demo import demo_track_names
from umxmr.data.layout import DatasetError
from umxmr.resolutions import stft_resolutions
from umxmr.settings import (
    ORACLE_LABEL,
    ORACLE_VARIANT,
    models_variant,
    resolve_variant,
    seed_settings,
    target_settings,
    variant_separation,
    variant_seeds,
)

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
            "at your dataset folder (the one holding train/ and test/)"
        )
    return sorted(p.name for p in test.iterdir() if p.is_dir())


TEST_TRACKS = get_test_tracks()
# evaluation.metrics: [SDR] (the exact SDR path only) or all four (full BSSEval v4 as well)
METRICS = [
    m
    for m in ["SDR", "SIR", "SAR", "ISR"]
    if m in config["evaluation"].get("metrics", ["SDR", "SIR", "SAR", "ISR"])
]
FULL_BSSEVAL = len(METRICS) == 4
EVAL_VARIANTS = config["evaluation"]["variants"]
BASELINE = EVAL_VARIANTS[0]


wildcard_constraints:
    variant="|".join(map(re.escape, [*config["variants"], ORACLE_VARIANT])),
    metric="|".join(METRICS),
    target="|".join(TARGETS),
    track="|".join(map(re.escape, TEST_TRACKS)),
    dataset="|".join(map(re.escape, [KIND, "periphery"])),
    search=r"[0-9]+|grid|controls",
    seed=r"\d+",


def variant_settings(variant):
    return resolve_variant(config, variant)


def get_manifest_input(wildcards):
    """What a manifest checks: the converted Periphery or the demo folder made by a rule; nothing for a user's dataset."""
    if wildcards.dataset == "periphery":
        return ["data/periphery"]
    return [config["dataset"]["root"]] if KIND == "demo" else []


def get_manifest_params(wildcards):
    """kind, root and kind-specific options of the dataset behind a manifest."""
    if wildcards.dataset == "periphery":
        return {"kind": "periphery", "root": "data/periphery", "options": {}}
    options = {k: v for k, v in config["dataset"].items() if k not in ("kind", "root")}
    return {"kind": KIND, "root": config["dataset"]["root"], "options": options}


def get_periphery_raw(wildcards):
    """The raw Periphery-like tree when the demo generates it; the user's own tree otherwise."""
    return [config["periphery"]["raw"]] if KIND == "demo" else []


def get_extra_manifests(wildcards):
    """Manifests of the datasets a variant trains on besides the main one (umx-mr-6: periphery)."""
    extra = variant_settings(wildcards.variant)["train"]["extra_datasets"]
    return [f"data/{name}.manifest.json" for name in extra]


def get_oracle_best(wildcards):
    """best.json for variants whose STFT comes from the oracle search: a change of the search retrains them."""
    if variant_settings(wildcards.variant)["stft"].get("from_oracle") is None:
        return []
    return ["results/oracle/best.json"]


def get_seed_settings(wildcards):
    """Settings of one seed's training job."""
    return seed_settings(variant_settings(wildcards.variant), int(wildcards.seed))


def get_seed_models(wildcards):
    """Every seed's model of a variant and target, in the order of train.seeds."""
    seeds = variant_seeds(variant_settings(wildcards.variant))
    kw = dict(variant=wildcards.variant, target=wildcards.target, seed=seeds)
    return {
        "weights": expand("results/{variant}/seeds/{seed}/{target}.pth", **kw),
        "summaries": expand("results/{variant}/seeds/{seed}/{target}.json", **kw),
    }


def get_stats(wildcards):
    """Statistics of every STFT the model reads, base first (none for nsgt);
    with stft.from_oracle the target's STFT is known once best.json exists."""
    settings = variant_settings(wildcards.variant)
    if settings["stft"].get("from_oracle") is not None:
        best_json = checkpoints.oracle_best.get().output[0]
        settings = target_settings(settings, wildcards.target, best_json)
    return [
        f"data/stats/nfft{n_fft}_hop{hop}.npz"
        for n_fft, hop in stft_resolutions(settings)
    ]


def get_target_models(wildcards):
    """Trained models of the variant, or of the variant named by its models_from."""
    variant = models_variant(config, wildcards.variant)
    return {
        "weights": expand(
            "results/{variant}/{target}.pth", variant=variant, target=TARGETS
        ),
        "summaries": expand(
            "results/{variant}/{target}.json", variant=variant, target=TARGETS
        ),
    }


def trained_variants_pattern():
    """Wildcard constraint of the rules that need trained models (not the oracle)."""
    return "|".join(map(re.escape, config["variants"]))


def get_separation(wildcards):
    return variant_separation(config, wildcards.variant)


def evaluate_mem_mb(wildcards, input):
    """Peak memory of the evaluate rule (full BSSEval, 2 processes), from the track's length.

    Measured (bench/bsseval_memory.py, 4 stereo targets): about 650 MB at 2 s, 2,176 MB at
    60 s (museval.evaluate: 2,124 MB). Model: 256 B per sample (references and estimates as
    float64, twice) plus 224 B per point of the correlation FFT (the references' spectra and
    two workers' buffers; n_fft = the power of two >= samples + 511, which doubles past
    ~6.3 min), scaled by the number of targets, +10 %, + 700 MB. Samples come from the
    estimates' size (float32 stereo WAVs); 4 min: about 7.5 GB.
    """
    samples = input.size_mb * 2**20 / (4 * 2 * len(TARGETS))
    n_fft = 2 ** math.ceil(math.log2(samples + 511))
    scale = len(TARGETS) / 4
    return int(700 + 1.1 * scale * (256 * samples + 224 * n_fft) / 2**20)


def get_score_jsons(wildcards):
    """The SDR-path JSONs (SDR-only scores and uSDR) of every evaluated variant and track, and
    with all four metrics museval's full JSONs beside them (SDR, SIR, SAR, ISR come from these).
    """
    folders = ["sdr", "museval"] if FULL_BSSEVAL else ["sdr"]
    return expand(
        "results/{variant}/{folder}/{track}.json",
        variant=[*EVAL_VARIANTS, ORACLE_VARIANT],
        folder=folders,
        track=TEST_TRACKS,
    )


def get_score_labels():
    """Directory name -> the variant name in scores.csv and every table and plot."""
    return {**{v: v for v in EVAL_VARIANTS}, ORACLE_VARIANT: ORACLE_LABEL}


def trained_variants():
    """The variants whose models the evaluated variants use, each once."""
    return list(dict.fromkeys(models_variant(config, v) for v in EVAL_VARIANTS))


def get_training_summaries(wildcards):
    """Summaries of the models behind the evaluated variants."""
    return expand(
        "results/{variant}/{target}.json", variant=trained_variants(), target=TARGETS
    )


def get_final_output():
    """The comparison; on the demo also the converted Periphery-like songs, so the demo exercises the conversion."""
    extra = (
        ["data/periphery.manifest.json"]
        if KIND == "demo" and "periphery" in config
        else []
    )
    return [
        "results/boxplot.pdf",
        *expand("results/boxplot_{metric}.pdf", metric=METRICS),
        "results/summary.csv",
        "results/summary.md",
        "results/comparison.csv",
        "results/report/training_curves.svg",
        "results/report/seed_spread.svg",
        "results/report/config.html",
        "results/oracle/best.json",
        "results/oracle/sdr_vs_window.pdf",
        *expand("results/{variant}/training_curves.pdf", variant=trained_variants()),
        *extra,
    ]


def get_oracle_searches():
    """The searches best.json is chosen from: one per seed, or the whole grid when exhaustive."""
    oracle = config["oracle"]
    names = ["grid"] if oracle["mode"] == "exhaustive" else oracle["seeds"]
    return expand("results/oracle/search_{search}.csv", search=names)
