"""Every rule's declared memory (umxmr/resources.py via rules/common.smk) against the kernel's
peak (getrusage ru_maxrss of the job and its children): measured <= declared <= 1.5 x measured
+ 500 MB. Over-declaring fails too: it leaves a cluster idle.

The per-track rules (separate, oracle_estimates, evaluate) run at published model size on a
short and a 60-second track (tests/peak_memory.py), separate of the variants with a figure of
their own (umx-mr-7, umx-mr-7-whole: `umxmr.resources.separate_kind`) on the short one; the
other rules are read from the tiny workflow run (`finished_run`,
tests/kernel_peak/sitecustomize.py), with the mem_mb Snakemake gave each job, except train and
oracle_search (see NOT_HERE).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from peak_memory import ROOT, TARGETS, job_args, make_dataset, make_models, run_job
from umxmr.resources import (
    FIXED_MEMORY, SEPARATE_MEMORY, SPLIT_MEMORY, TRACK_MEMORY, demo_mem_mb, fixed_mem_mb, separate_kind, split_mem_mb, track_mem_mb,
)  # fmt: skip
from umxmr.settings import resolve_variant
from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow

# measured <= declared <= SLACK x measured + SLACK_MB
SLACK, SLACK_MB = 1.5, 500
THREADS = {"separate": 1, "oracle_estimates": 1, "evaluate": 2, "evaluate_sdr": 1}  # the rules' threads
SECONDS = {"short": 5.0, "long": 60.0}
WORKER_RULES = {"evaluate", "oracle_search"}  # fork processes that compute
# Published-size model files: checked below, not on the tiny run (which has neither).
MODEL_FILE_RULES = {"pretrained_model", "export_openunmix"}
# Not checked on the tiny run: the per-track rules (at published size above), train (the tiny
# model is not the published one) and oracle_search (the tiny config searches windows up to 8192,
# config.yaml up to 32768): bench/README.md has their figures at published settings.
NOT_HERE = {"train", "oracle_search", *TRACK_MEMORY, *MODEL_FILE_RULES}
DEMO_SECONDS = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())["demo"]["duration"]


def assert_true_declaration(what: str, measured: float, declared: float) -> None:
    assert measured <= declared, f"{what}: needs {measured:.0f} MB, declares only {declared} MB"
    assert declared <= SLACK * measured + SLACK_MB, f"{what}: declares {declared} MB for a {measured:.0f} MB peak"


@pytest.fixture(scope="module")
def long_and_short(tmp_path_factory):
    root = tmp_path_factory.mktemp("lengths")
    return root, make_dataset(root / "data", SECONDS), make_models(root / "models")


@pytest.mark.parametrize("track", list(SECONDS))
def test_per_track_rules_declare_their_peak_at_published_size(long_and_short, track):
    root, manifest, models = long_and_short
    # oracle_estimates before evaluate: evaluate scores the oracle's estimates
    for rule in ["separate", "oracle_estimates", "evaluate", "evaluate_sdr"]:
        args = job_args(rule, track, manifest, models, root / "jobs", THREADS[rule])
        measured = job_peak_mb(run_job(rule, args, root / "peaks" / track))
        declared = track_mem_mb(rule, SECONDS[track])
        assert_true_declaration(f"{rule} on {SECONDS[track]:.0f} s", measured, declared)
        assert track_mem_mb(rule, SECONDS[track], attempt=2) > declared  # a retry asks more
    shutil.rmtree(root / "jobs" / "separate" / track)


def test_slicq_oracle_declares_its_peak(long_and_short):
    """The sliCQ phase-mix oracle (umx-mr-7's transform, whole track in float64) on the short
    track; its growth per second is bench/README.md's (30 s and 120 s take minutes)."""
    root, manifest, _ = long_and_short
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    args = job_args("oracle_estimates", "short", manifest, {}, root / "slicq", 1) | {"slicq": resolve_variant(config, "umx-mr-7")}
    measured = job_peak_mb(run_job("oracle_slicq_estimates", args, root / "peaks" / "slicq"))
    assert_true_declaration("oracle_slicq_estimates on 5 s", measured, track_mem_mb("oracle_slicq_estimates", SECONDS["short"]))


def test_model_file_rules_declare_their_peak_at_published_size(tmp_path, long_and_short):
    """pretrained_model reading umxl's layout (hidden 1024, the largest published model) and
    umxhq's; export_openunmix of umx-mr-0's 4 targets at published size."""
    import torch

    from umxmr.models.pretrained import published_file
    from umxmr.models.registry import build_model
    from umxmr.settings import PUBLISHED_DEFAULTS

    for name, hidden in [("umxl", 1024), ("umxhq", 512)]:
        checkpoints = tmp_path / name / "hub" / "checkpoints"
        checkpoints.mkdir(parents=True)
        model = build_model({**PUBLISHED_DEFAULTS, "target": "vocals", "model": {**PUBLISHED_DEFAULTS["model"], "hidden_size": hidden}}, 44100)
        torch.save(model.state_dict(), checkpoints / published_file(name, "vocals"))
        args = {"threads": 1, "name": name, "torch_home": str(tmp_path / name), "out": str(tmp_path / name)}
        measured = job_peak_mb(run_job("pretrained_model", args, tmp_path / "peaks"))
        assert_true_declaration(f"pretrained_model {name}", measured, fixed_mem_mb("pretrained_model"))
    _, _, models = long_and_short
    args = {
        "threads": 1, "targets": TARGETS, "separator": str(models["separator"]), "out": str(tmp_path / "export"),
        "summaries": [str(p) for p in models["summaries"]], "weights": [str(p) for p in models["weights"]],
    }  # fmt: skip
    measured = job_peak_mb(run_job("export_openunmix", args, tmp_path / "peaks"))
    assert (tmp_path / "export" / "vocals.pth").exists()
    assert_true_declaration("export_openunmix", measured, fixed_mem_mb("export_openunmix"))


# separate's peak by the kind of model (umxmr.resources.separate_kind): umx-mr-0 above stands
# for every blocked front end (umx-mr-4 peaks within its figure, bench/README.md); umx-mr-7
# (sliCQ) and umx-mr-7-whole (the whole-signal NSGT) have their own, checked here at published
# size on the short track (their growth per second: bench/separation_memory.py --variant)
KIND_VARIANTS = {"slicq": "umx-mr-7", "nsgt-whole": "umx-mr-7-whole"}


@pytest.mark.parametrize("kind", list(SEPARATE_MEMORY))
def test_separate_declares_its_peak_for_each_kind_of_model(long_and_short, kind):
    root, manifest, _ = long_and_short
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    variant = KIND_VARIANTS[kind]
    assert separate_kind(resolve_variant(config, variant)) == kind
    assert separate_kind(resolve_variant(config, "umx-mr-4")) == separate_kind(resolve_variant(config, "umx-mr-0")) == "blocked"
    models = make_models(root / "models" / variant, variant=variant)
    args = job_args("separate", "short", manifest, models, root / "jobs" / variant, THREADS["separate"])
    measured = job_peak_mb(run_job("separate", args, root / "peaks" / variant))
    declared = track_mem_mb("separate", SECONDS["short"], kind=kind)
    # more than a blocked variant on the long track (on the short one the whole NSGT needs less)
    assert track_mem_mb("separate", SECONDS["long"], kind=kind) > track_mem_mb("separate", SECONDS["long"])
    assert_true_declaration(f"separate of {variant} on {SECONDS['short']:.0f} s", measured, declared)


def job_peak_mb(peak: dict) -> float:
    """A job's peak from its record. Where the children are forked workers that compute: the
    job and its workers together, each page once (tests/peak_memory.py's `tree_mb`); otherwise
    the larger of the job's and its largest child's ru_maxrss: the only children are short
    programs (git) whose ru_maxrss counts the pages they shared with the job before their exec."""
    if peak["rule"] in WORKER_RULES:
        return peak["tree_mb"]
    return max(peak["self_mb"], peak["children_mb"])


def test_flat_rules_declare_their_peak(finished_run):
    peaks = [json.loads(p.read_text()) for p in finished_run.with_name(finished_run.name + "_peaks").glob("*.json")]
    flat = [p for p in peaks if p["rule"] not in NOT_HERE]
    expected_rules = (set(FIXED_MEMORY) | set(SPLIT_MEMORY) | {"demo_dataset"}) - NOT_HERE
    assert {p["rule"] for p in flat} == expected_rules, "a rule without a figure, or one that did not run"
    manifest = finished_run / "data" / "demo.manifest.json"
    for peak in flat:
        rule = peak["rule"]
        # what Snakemake gave the job is what umxmr/resources.py says
        expected = (
            split_mem_mb(rule, manifest) if rule in SPLIT_MEMORY
            else demo_mem_mb(DEMO_SECONDS) if rule == "demo_dataset"
            else fixed_mem_mb(rule)
        )  # fmt: skip
        assert peak["mem_mb"] == expected, rule
        assert_true_declaration(f"{rule} {peak['wildcards']}", job_peak_mb(peak), peak["mem_mb"])


def test_memory_limit_below_a_track_stops_before_work(finished_run):
    """--resources mem_mb below a track's need: an error naming track, rule, need and limit,
    before any job (dry run); a limit above every need passes, and the jobs get their mem_mb."""
    manifest = json.loads((finished_run / "data" / "demo.manifest.json").read_text())
    track = manifest["splits"]["test"][0]
    seconds = track["frames"] / track["rate"]
    need = track_mem_mb("evaluate", seconds)
    low = snakemake(finished_run, "-n", "--nolock", "--resources", f"mem_mb={need - 1}")
    assert low.returncode != 0
    text = low.stdout + low.stderr
    assert f"--resources mem_mb={need - 1}" in text
    assert re.search(rf"evaluate of track '{track['name']}' \(0\.\d min\): mem_mb {need}\b", text), text[-3000:]
    high = snakemake(finished_run, "-n", "--nolock", "--forcerun", "evaluate", "--resources", "mem_mb=100000")
    assert high.returncode == 0, (high.stdout + high.stderr)[-3000:]
    assert f"mem_mb={need}" in high.stdout + high.stderr


def test_slurm_bundles_submit_a_tenth_of_the_jobs(tmp_path, repo_root):
    """The full comparison's DAG (10 variants x 50 test tracks; a dry run through profiles/slurm):
    the bundles (rules' group:, the profile's group-components) submit at most ~10 % as many
    sbatch jobs as one per job would."""
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    config["demo"]["tracks"] = {"train": 8, "valid": 2, "test": 50}
    config["evaluation"]["variants"] = [
        "umx-mr-0", "umx-mr-1", "umx-mr-2", "umx-mr-3", "umx-mr-4", "umx-mr-6",
        "umx-nw-stft8192", "umx-nw-conv", "umx-nw-sigmoid", "umx-nw-nodropout",
    ]  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", "--executor", "slurm", "--workflow-profile", str(repo_root / "profiles" / "slurm"))
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-3000:]
    single = len(re.findall(r"^(?:rule|checkpoint) (?!all:)\w+:", text, re.M))  # each its own sbatch
    bundled = len(re.findall(r"^    (?:rule|checkpoint) \w+:", text, re.M))  # inside a group job
    bundles = len(re.findall(r"Group job \w+", text))
    total = int(re.search(r"^total\s+(\d+)", text, re.M).group(1)) - 1  # `all` is never submitted
    assert single + bundled == total
    assert bundles == 50 * 11 // 10 + 2  # 10 tracks' separate + evaluate each, variants, report
    assert (single + bundles) / total <= 0.1
