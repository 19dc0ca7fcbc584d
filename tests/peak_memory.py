"""The heavy per-track jobs (separate, oracle_estimates, evaluate) on generated tracks, each in a
process of its own, with the kernel's peak memory of that process and its children.

What a job runs is what its workflow script runs (the same package function, the same inputs
as files); only Snakemake is left out. The peak is `ru_maxrss` from `wait4` of the job's
process and the largest `ru_maxrss` among the processes it waited for
(`getrusage(RUSAGE_CHILDREN)` inside the job, written to a file at exit).

A forked worker's `ru_maxrss` counts the pages it shares with its parent again, so for a job
with forked workers (evaluate's BSSEval) the sum over-counts, by up to the job's whole size.
For those the job and its workers together are measured as a cgroup does (the kernel's
accounting that a SLURM memory limit uses, each page once): in a memory cgroup of their own
where this process may make one (root with cgroup v1 or v2: ``memory.max_usage_in_bytes`` /
``memory.peak``), else as the peak of the sum of the processes' proportional set sizes
(``Pss`` of /proc/PID/smaps_rollup, shared pages split between their users), sampled every
10 ms: evaluate's large allocations live for seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import soundfile as sf

RATE = 44100
TARGETS = ["vocals", "drums", "bass", "other"]
STEMS = ["drums", "bass", "other", "vocals"]
ROOT = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, seconds: dict[str, float], seed: int = 0) -> Path:
    """Test tracks of the given lengths (name -> seconds) from the demo's synthesis, as int16 WAVs
    in MUSDB layout under `root`, and their manifest (returned)."""
    from umxmr.data.demo import render_track
    from umxmr.data.layout import check_track, write_manifest

    tracks = []
    for index, (name, secs) in enumerate(seconds.items()):
        folder = root / "test" / name
        folder.mkdir(parents=True, exist_ok=True)
        audio = render_track(seed, "test", index, int(round(secs * RATE)))
        for stem, samples in audio.items():
            sf.write(str(folder / f"{stem}.wav"), samples, RATE, subtype="PCM_16")
        tracks.append(check_track(folder, "test"))
    manifest = root / "manifest.json"
    write_manifest(manifest, "musdb", root, {"train": [], "valid": [], "test": tracks})
    return manifest


def make_models(folder: Path, seed: int = 0, variant: str = "umx-mr-0") -> dict[str, list[Path] | Path]:
    """`variant` at published size (its real-data settings in config.yaml, without the demo's
    overrides; umx-mr-0: Open-Unmix, hidden 512, 3 BLSTM layers) with random weights, one per
    target, and its separator.json with the config's separation settings."""
    import torch
    import yaml

    from umxmr.models.registry import build_model
    from umxmr.separation.separate import separator_config
    from umxmr.settings import resolve_variant

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    variant_settings = resolve_variant({**config, "dataset": {**config["dataset"], "kind": "musdb"}}, variant)
    summaries, weights = [], []
    for target in TARGETS:
        settings = {**variant_settings, "target": target}
        model = build_model(settings, RATE)
        summaries.append(folder / f"{target}.json")
        weights.append(folder / f"{target}.pth")
        summaries[-1].write_text(json.dumps({"args": settings, "selected_seed": seed}))
        torch.save(model.state_dict(), weights[-1])
    separator = folder / "separator.json"
    conf = separator_config(variant_settings, {**config["separation"], "device": "cpu"}, TARGETS, RATE)
    separator.write_text(json.dumps(conf))
    return {"summaries": summaries, "weights": weights, "separator": separator}


_JOBS = {
    "separate": """
        import torch
        from umxmr.separation.separate import separate_track_files
        torch.set_num_threads(a["threads"])
        separate_track_files(track=a["track"], manifest=P(a["manifest"]), separator=P(a["separator"]),
            summaries=[P(p) for p in a["summaries"]], weights=[P(p) for p in a["weights"]],
            outputs=[P(p) for p in a["outputs"]], provenance_out=P(a["provenance"]), run={})
    """,
    "oracle_estimates": """
        import torch
        from umxmr.oracle.estimates import phase_mix_track_files
        torch.set_num_threads(a["threads"])
        phase_mix_track_files(track=a["track"], manifest=P(a["manifest"]), targets=a["targets"],
            outputs=[P(p) for p in a["outputs"]], provenance_out=P(a["provenance"]), run={})
    """,
    "evaluate": """
        from threadpoolctl import threadpool_limits
        from umxmr.data.layout import load_manifest
        from umxmr.evaluation.evaluate import evaluate_track_dirs
        threadpool_limits(1)
        info = {t.name: t for t in load_manifest(P(a["manifest"]))["test"]}[a["track"]]
        evaluate_track_dirs(reference_dir=P(info.folder), estimate_dir=P(a["estimates"]),
            targets=a["targets"], out_json=P(a["out"]), track_name=a["track"],
            reference_files=info.files, workers=a["threads"], provenance={})
    """,
    "evaluate_sdr": """
        from umxmr.data.layout import load_manifest
        from umxmr.evaluation.sdr import evaluate_track_dirs_sdr
        info = {t.name: t for t in load_manifest(P(a["manifest"]))["test"]}[a["track"]]
        evaluate_track_dirs_sdr(reference_dir=P(info.folder), estimate_dir=P(a["estimates"]),
            targets=a["targets"], out_json=P(a["out"]), track_name=a["track"], reference_files=info.files)
    """,
    "oracle_slicq_estimates": """
        from umxmr.oracle.estimates import phase_mix_track_files
        phase_mix_track_files(track=a["track"], manifest=P(a["manifest"]), targets=a["targets"],
            outputs=[P(p) for p in a["outputs"]], provenance_out=P(a["provenance"]), run={}, slicq=a["slicq"])
    """,
    "pretrained_model": """
        import os
        os.environ["TORCH_HOME"] = a["torch_home"]
        from umxmr.models.pretrained import write_published
        write_published(a["name"], "vocals", None, P(a["out"]) / "vocals.pth", P(a["out"]) / "vocals.json")
    """,
    "export_openunmix": """
        from umxmr.models.export import export_openunmix
        export_openunmix(summaries=[P(p) for p in a["summaries"]], weights=[P(p) for p in a["weights"]],
            targets=a["targets"], separator=json.loads(P(a["separator"]).read_text()), out_dir=P(a["out"]))
    """,
}


def run_job(rule: str, args: dict, workdir: Path) -> dict[str, float]:
    """Run one job of `rule` (a key of _JOBS) with `args` in a new Python process; its kernel peak
    memory in MB (1e6 bytes): {"rule", "self_mb": the process's own ru_maxrss, "children_mb": its
    children's largest} (combined as tests/test_resources.py's `job_peak_mb` does)."""
    workdir.mkdir(parents=True, exist_ok=True)
    children = workdir / f"{rule}.children_maxrss"
    code = "\n".join([
        "import atexit, json, resource, sys",
        "from pathlib import Path as P",
        f"a = json.loads({json.dumps(json.dumps(args))})",
        f"atexit.register(lambda: P({str(children)!r}).write_text("
        "str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)))",
        textwrap.dedent(_JOBS[rule]),
    ])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args["threads"])}
    cgroup = _new_memory_cgroup()
    # Linux keeps a process's ru_maxrss across exec, and a forked child starts with its parent's
    # resident pages: a job forked by this (large) pytest process would report pytest's size.
    # A small launcher process (in the cgroup, if any) starts the job and reports its own peak.
    try:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, cgroup[0] if cgroup else "", sys.executable, "-c", code],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree_mb = _sampled_pss_peak_mb(proc) if cgroup is None else None
        stdout, stderr = proc.communicate()
        if cgroup:
            tree_mb = int(Path(cgroup[0], cgroup[1]).read_text()) / 1e6
    finally:
        if cgroup:
            Path(cgroup[0]).rmdir()
    if proc.returncode != 0:
        raise RuntimeError(f"{rule} failed:\n{stderr[-3000:]}")
    own_kb = int(stdout.split()[-1])
    child_kb = int(children.read_text()) if children.exists() else 0
    return {"rule": rule, "self_mb": own_kb * 1024 / 1e6, "children_mb": child_kb * 1024 / 1e6, "tree_mb": tree_mb,
            "tree_measure": "cgroup" if cgroup else "sampled PSS"}


_LAUNCHER = """
import os, subprocess, sys
if sys.argv[1]:  # join the job's memory cgroup before starting it
    with open(os.path.join(sys.argv[1], "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
job = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(job.pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _new_memory_cgroup() -> tuple[str, str] | None:
    """(folder, peak file) of a fresh memory cgroup this process may make, or None."""
    for base, peak in [("/sys/fs/cgroup/memory", "memory.max_usage_in_bytes"), ("/sys/fs/cgroup", "memory.peak")]:
        if os.geteuid() != 0 or not Path(base, "cgroup.procs").exists():
            continue
        folder = Path(base, f"umxmr-peak-{os.getpid()}-{len(os.listdir(base))}")
        try:
            folder.mkdir()
        except OSError:
            continue
        if Path(folder, peak).exists():
            return str(folder), peak
        folder.rmdir()
    return None


def tree_pss_mb(pid: int) -> float:
    """The summed Pss (MB) of process `pid` and all its descendants, now: each page shared
    between them counted once in all (split between its users)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:  # it ended meanwhile
            pass
    return total * 1024 / 1e6


def _sampled_pss_peak_mb(proc: subprocess.Popen) -> float:
    """Peak over time of the summed Pss of `proc` and its descendants (MB), every 10 ms."""
    import time

    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_pss_mb(proc.pid))
        time.sleep(0.01)
    return peak


def job_args(rule: str, track: str, manifest: Path, models: dict, out: Path, threads: int) -> dict:
    """The arguments the rule's workflow script passes, with outputs under `out`/<rule>/<track>."""
    folder = out / rule / track
    estimates = out / ("oracle_estimates" if rule.startswith("evaluate") else rule) / track
    base = {"track": track, "manifest": str(manifest), "threads": threads, "targets": TARGETS}
    if rule == "separate":
        return base | {
            "separator": str(models["separator"]),
            "summaries": [str(p) for p in models["summaries"]],
            "weights": [str(p) for p in models["weights"]],
            "outputs": [str(folder / f"{t}.wav") for t in TARGETS],
            "provenance": str(folder / "provenance.json"),
        }
    if rule == "oracle_estimates":
        return base | {"outputs": [str(folder / f"{t}.wav") for t in TARGETS], "provenance": str(folder / "provenance.json")}
    return base | {"estimates": str(estimates), "out": str(folder / "museval.json")}
