"""bench/gpu_check.sh in its CI-size form (`--device cpu --quick`): every phase runs and
writes its figures; a missing package is named before anything runs."""

from __future__ import annotations

import json
import subprocess
import sys

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_gpu_check_runs_every_phase_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--device", "cpu", "--quick", "--out", str(out), "--python", sys.executable],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    figures = {(r["phase"], r["key"]): r["value"] for r in rows}
    problems = [r for r in rows if r["key"] in ("phase cut", "phase failed")]
    assert not problems, problems
    for phase in ("env", "data", "train", "data_path", "resume", "seeds", "separate"):
        assert (phase, "phase time") in figures, phase
    for name in ("umx-mr-0 fp32", "openunmix fp32", "umx-mr-0 bf16", "openunmix bf16"):
        assert figures[("train", f"{name} samples/s")] > 0
    assert figures[("train", "umx-mr-0 fp32 deterministic samples/s")] > 0
    for path in ("loader", "device"):
        assert figures[("data_path", f"ours, {path} path, loading only")] > 0
        assert figures[("data_path", f"training steps, {path} path")] > 0
    assert figures[("data_path", "open-unmix MUSDBDataset, loading only")] > 0  # ffmpeg is here
    assert figures[("resume", "SIGUSR1")] == "checkpoint written, job stopped"
    assert figures[("resume", "resumed equals uninterrupted")] is True
    seeds = [value for (phase, key), value in figures.items() if phase == "seeds" and "two runs" in key]
    assert seeds == [True, True, True]  # on the CPU every setting repeats exactly
    assert figures[("separate", "separate a 4 s track, 4 targets")] > 0
    assert figures[("separate", "4 models on a 4 s track")] > 0
    summary = (out / "summary.md").read_text()
    assert "| resume | resumed equals uninterrupted | True |" in summary
    assert "| train | umx-mr-0 fp32 samples/s |" in result.stdout  # printed too


def test_gpu_check_names_a_missing_package(tmp_path):
    blocked = tmp_path / "blocked"
    (blocked / "norbert").mkdir(parents=True)
    (blocked / "norbert" / "__init__.py").write_text("raise ImportError('norbert is not installed here')\n")
    result = subprocess.run(
        [sys.executable, "bench/gpu_check.py", "--check-packages"],
        cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": f"{blocked}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "missing required packages: norbert (ImportError: norbert is not installed here)" in result.stderr
