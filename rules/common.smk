import math
import re
import sys
from pathlib import Path

# the package next to this Snakefile, whatever else is installed
sys.path.insert(0, workflow.basedir)

from umxmr.config_check import validate_config
from umxmr.data.demo import demo_track_names
from umxmr.data.layout import list_test_tracks
from umxmr.report.listening import listening_settings, listening_tracks
from umxmr.resolutions import stft_resolutions
from snakemake.exceptions import WorkflowError

from umxmr.resources import (
    TRACK_MEMORY,
    separate_kind,
    test_track_seconds,
    demo_mem_mb,
    fixed_mem_mb,
    split_mem_mb,
    track_mem_mb,
    track_runtime,
    track_seconds,
)
from umxmr.target_sets import target_set
from umxmr.settings import (
    ORACLE_LABEL,
    ORACLE_VARIANT,
    evaluation_variants,
    SLICQ_ORACLE_LABEL,
    SLICQ_ORACLE_VARIANT,
    models_variant,
    pretrained_variants,
    resolve_variant,
    seed_settings,
    target_settings,
    variant_separation,
    variant_seeds,
    with_valid_sdr_window,
)

validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")

TARGETS = config["targets"]
# what separate, the oracle and evaluate write and score: the targets, and a single target's complement
STUDY = target_set(TARGETS)
SCORED = STUDY.scored
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
    return list_test_tracks(ROOT, KIND)


TEST_TRACKS = get_test_tracks()
# evaluation.metrics: [SDR] (the exact SDR path only) or all four (full BSSEval v4 as well)
METRICS = [
    m
    for m in ["SDR", "SIR", "SAR", "ISR"]
    if m in config["evaluation"].get("metrics", ["SDR", "SIR", "SAR", "ISR"])
]
FULL_BSSEVAL = len(METRICS) == 4
EVAL_VARIANTS = evaluation_variants(config)
# the phase-mix oracles evaluated like variants: the STFT's, and the sliCQ's when asked for
SLICQ_ORACLE = config["evaluation"].get("slicq_oracle")
ORACLES = {ORACLE_VARIANT: ORACLE_LABEL} | (
    {SLICQ_ORACLE_VARIANT: SLICQ_ORACLE_LABEL} if SLICQ_ORACLE else {}
)
BASELINE = EVAL_VARIANTS[0]
# report.listening: excerpts of these test tracks on the report's listening pages
LISTENING = listening_settings(config)
LISTENING_TRACKS = listening_tracks(LISTENING, TEST_TRACKS)


wildcard_constraints:
    variant="|".join(map(re.escape, [*config["variants"], *ORACLES])),
    metric="|".join(METRICS),
    target="|".join(TARGETS),
    track="|".join(map(re.escape, TEST_TRACKS)),
    dataset="|".join(map(re.escape, [KIND, "periphery"])),
    search=r"[0-9]+|grid|controls",
    seed=r"\d+",


def variant_settings(variant):
    return resolve_variant(config, variant)


# tracks of the main dataset at other rates, resampled once to 44.1 kHz (dataset.other_rates: resample)
RESAMPLED = (
    f"data/44k/{KIND}" if config["dataset"].get("other_rates") == "resample" else None
)


# MUSDB18's *.stem.mp4 files decoded once into MUSDB18-HQ layout (dataset.kind: musdb18)
DECODED = "data/decoded/musdb18" if KIND == "musdb18" else None


def get_manifest_input(wildcards):
    """What a manifest checks: the converted Periphery, the demo folder or the resampled tracks made by a rule; nothing else for a user's dataset."""
    if wildcards.dataset == "periphery":
        return ["data/periphery"]
    if RESAMPLED:
        return [RESAMPLED]
    if DECODED:
        return [DECODED]
    return [config["dataset"]["root"]] if KIND == "demo" else []


def get_manifest_params(wildcards):
    """kind, root and kind-specific options of the dataset behind a manifest."""
    if wildcards.dataset == "periphery":
        return {"kind": "periphery", "root": "data/periphery", "options": {}}
    options = {k: v for k, v in config["dataset"].items() if k not in ("kind", "root")}
    if RESAMPLED:
        options["resampled"] = RESAMPLED
    if DECODED:
        options["decoded"] = DECODED
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
    """Settings of one seed's training job (with train.valid_sdr, the evaluation's window too)."""
    return with_valid_sdr_window(
        seed_settings(variant_settings(wildcards.variant), int(wildcards.seed)), config
    )


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


PRETRAINED = pretrained_variants(config)


def pattern_of(names):
    """A wildcard constraint matching exactly `names` (nothing when empty)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def get_pretrained(wildcards):
    """The published model of a `pretrained` variant and its optional offline weights folder."""
    row = config["variants"][wildcards.variant]
    return {"pretrained": row["pretrained"], "weights": row.get("weights", "")}


def get_separation(wildcards):
    return variant_separation(config, wildcards.variant)


def get_score_jsons(wildcards):
    """The SDR-path JSONs (SDR-only scores and uSDR) of every evaluated variant and track, and
    with all four metrics museval's full JSONs beside them (SDR, SIR, SAR, ISR come from these).
    """
    folders = ["sdr", "museval"] if FULL_BSSEVAL else ["sdr"]
    return expand(
        "results/{variant}/{folder}/{track}.json",
        variant=[*EVAL_VARIANTS, *ORACLES],
        folder=folders,
        track=TEST_TRACKS,
    )


def get_listening_inputs(wildcards):
    """One track's estimates (source-major, then target) and score JSONs of the evaluated
    variants and the oracle: a changed estimate rebuilds only its own track's page."""
    sources = [*EVAL_VARIANTS, ORACLE_VARIANT]
    return {
        "manifest": MANIFEST,
        "estimates": expand(
            "results/{variant}/estimates/{track}/{target}.wav",
            variant=sources,
            track=wildcards.track,
            target=TARGETS,
        ),
        # museval's frames; with evaluation.metrics [SDR] the SDR path's (the same SDR values)
        "scores": expand(
            "results/{variant}/{folder}/{track}.json",
            folder="museval" if FULL_BSSEVAL else "sdr",
            variant=sources,
            track=wildcards.track,
        ),
    }


def get_score_labels():
    """Directory name -> the variant name in scores.csv and every table and plot."""
    return {**{v: v for v in EVAL_VARIANTS}, **ORACLES}


def trained_variants():
    """The variants whose models the evaluated variants train, each once (published models,
    `pretrained`, have no training to plot)."""
    used = dict.fromkeys(models_variant(config, v) for v in EVAL_VARIANTS)
    return [v for v in used if v not in PRETRAINED]


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
        "results/report/listening.html",
        "results/oracle/best.json",
        "results/oracle/sdr_vs_window.pdf",
        "results/oracle/notes_comparison.md",
        *expand("results/{variant}/training_curves.pdf", variant=trained_variants()),
        *extra,
    ]


def get_oracle_searches():
    """The searches best.json is chosen from: one per seed, or the whole grid when exhaustive."""
    oracle = config["oracle"]
    names = ["grid"] if oracle["mode"] == "exhaustive" else oracle["seeds"]
    return expand("results/oracle/search_{search}.csv", search=names)


# --- Resources: memory (mem_mb) and time (runtime, minutes) of the jobs; the figures live in
# umxmr/resources.py. The per-track rules read the track's duration from the manifest.


def global_mem_mb():
    """The `--resources mem_mb=N` limit of this run, or None. Snakemake would silently lower
    a job's mem_mb to it (and run jobs that together need more than the machine has)."""
    resource = workflow.global_resources.get("mem_mb")
    value = getattr(resource, "value", resource)
    return value if isinstance(value, int) else None


def check_mem_limit(needs):
    """Stop before any work when a job needs more memory than `--resources mem_mb` allows.
    `needs`: (rule_name, track, seconds, mem_mb) of each job checked (track, seconds: None for a
    flat rule)."""
    limit = global_mem_mb()
    over = [n for n in needs if limit is not None and n[3] > limit]
    if over:
        lines = "\n".join(
            (
                f"  {rule_name}: mem_mb {need}"
                if track is None
                else f"  {rule_name} of track {track!r} ({seconds / 60:.1f} min): mem_mb {need}"
            )
            for rule_name, track, seconds, need in over
        )
        raise WorkflowError(
            f"--resources mem_mb={limit} is less than these jobs need:\n{lines}\n"
            "Snakemake would lower their mem_mb to the limit and run them anyway, and they "
            "could exhaust the memory. Give --resources mem_mb the machine's free memory (at "
            f"least {max(n[3] for n in over)}), or run the long tracks on a larger machine."
        )


def variant_separate_kind(variant):
    """How separate runs `variant`'s models (umxmr.resources.separate_kind: on the whole
    track for the whole-signal NSGT, else block by block); torch-free, from its settings.
    """
    return separate_kind(variant_settings(models_variant(config, variant)))


def track_mem(rule_name):
    """mem_mb of per-track `rule_name` (separate, oracle_estimates, evaluate) from the track's
    duration in the manifest (separate: and the variant's `separate_kind`), more on each
    retry (`attempt`); checked against --resources.
    """

    def mem_mb(wildcards, input, attempt):
        seconds = track_seconds(input.manifest, wildcards.track)
        kind = (
            variant_separate_kind(wildcards.variant)
            if rule_name == "separate"
            else "blocked"
        )
        need = track_mem_mb(rule_name, seconds, kind=kind)
        # a retry may ask more than the limit: Snakemake lowers it to the limit then
        check_mem_limit([(rule_name, wildcards.track, seconds, need)])
        return track_mem_mb(rule_name, seconds, attempt, kind=kind)

    return mem_mb


def track_time(rule_name):
    """runtime (minutes) of per-track `rule_name` from the track's duration, `attempt` times on a retry."""

    def runtime(wildcards, input, attempt):
        return track_runtime(
            rule_name, track_seconds(input.manifest, wildcards.track), attempt
        )

    return runtime


def fixed_mem(rule_name):
    """mem_mb of flat-memory `rule_name` (umxmr/resources.py), more on each retry; checked against
    --resources mem_mb."""

    def mem_mb(wildcards, attempt):
        check_mem_limit([(rule_name, None, None, fixed_mem_mb(rule_name))])
        return fixed_mem_mb(rule_name, attempt)

    return mem_mb


def split_mem(rule_name):
    """mem_mb of `rule_name` (train, dataset_statistics, oracle_search) from the longest track
    of the split it holds whole (umxmr/resources.py SPLIT_MEMORY), more on each retry.
    """

    def mem_mb(wildcards, input, attempt):
        manifest = input.manifest if hasattr(input, "manifest") else input[0]
        check_mem_limit([(rule_name, None, None, split_mem_mb(rule_name, manifest))])
        return split_mem_mb(rule_name, manifest, attempt)

    return mem_mb


def demo_mem(wildcards, attempt):
    """mem_mb of demo_dataset: it renders each track of demo.duration seconds whole."""
    check_mem_limit(
        [("demo_dataset", None, None, demo_mem_mb(config["demo"]["duration"]))]
    )
    return demo_mem_mb(config["demo"]["duration"], attempt)


def fixed_time(minutes):
    """runtime of a flat rule: `minutes`, `attempt` times on a retry."""
    return lambda wildcards, attempt: minutes * attempt


def separate_kinds():
    """The evaluated variants by `separate_kind` (how their separate jobs use memory)."""
    kinds = {}
    for variant in EVAL_VARIANTS:
        kinds.setdefault(variant_separate_kind(variant), []).append(variant)
    return kinds


# Before any job: every test track of a manifest already written, against --resources mem_mb
# (separate: each kind of the evaluated variants, named when not the blocked one).
if Path(MANIFEST).exists():
    check_mem_limit(
        [
            (label, track, seconds, track_mem_mb(rule_name, seconds, kind=kind))
            for track, seconds in test_track_seconds(MANIFEST).items()
            for rule_name in TRACK_MEMORY
            for kind, label in (
                [
                    (k, "separate" if k == "blocked" else f"separate ({', '.join(v)})")
                    for k, v in separate_kinds().items()
                ]
                if rule_name == "separate"
                else [("blocked", rule_name)]
            )
            if rule_name != "oracle_slicq_estimates" or SLICQ_ORACLE
        ]
    )
