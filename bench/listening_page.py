"""Look at the report's listening pages as a user would: render them in headless Chromium.

    PYTHONPATH=$PWD python bench/listening_page.py --workdir /tmp/listen [--config .test/config.yaml]

1. Runs the workflow in `--workdir` (with `--config` copied there if it has none) up to
   ``results/report/listening.html``: the listening pages and everything they need.
2. Prints each listening job's seconds from ``benchmarks/report/listening*`` and their sum
   (the issue's budget: at most 30 s added to the demo), and each page's size.
3. For every page, a copy with a small script injected (marks each <img> with its
   naturalWidth once loaded, each <audio> with its duration once its metadata loaded or its
   error code) is opened with Debian's headless Chromium (``--dump-dom`` with
   ``--virtual-time-budget``); the dumped DOM must show every <img> loaded and every <audio>
   decoded with the duration of its FLAC (decoded here with soundfile: same length).
4. Takes a ``--screenshot`` of the first page (PNG, written to `--out`).

With ``--demo-shaped N`` it first times N listening jobs of the demo's shape (a 12 s demo test
track from ``umxmr.data.demo.render_track``, 3 variants + the oracle as estimates made of the
reference plus leakage, 12 museval frames, ``report.listening`` of config.yaml): each job is a
fresh interpreter running the rule's package function, as the workflow script does, so imports
count, like in ``benchmarks/``.

Needs ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--autoplay-policy=no-user-gesture-required",
]
PROBE = """<script>
document.addEventListener('DOMContentLoaded', () => {
  for (const img of document.querySelectorAll('img')) {
    const mark = () => img.setAttribute('data-natural-width', String(img.naturalWidth));
    if (img.complete) mark(); else { img.addEventListener('load', mark); img.addEventListener('error', () => img.setAttribute('data-natural-width', 'error')); }
  }
  for (const audio of document.querySelectorAll('audio')) {
    audio.addEventListener('loadedmetadata', () => audio.setAttribute('data-duration', String(audio.duration)));
    audio.addEventListener('error', () => audio.setAttribute('data-error', String(audio.error && audio.error.code)));
    audio.preload = 'auto';
    audio.load();
  }
});
</script>"""


class Elements(HTMLParser):
    """Attributes of every <img> and <audio>."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.audios: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "audio":
            self.audios.append(dict(attrs))


def chromium(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_page(page: Path, budget_ms: int) -> dict:
    """Render a probed copy of `page`; assert every image loaded and every audio decoded at its FLAC's length."""
    source = page.read_text()
    expected = Elements()
    expected.feed(source)
    lengths = []
    for audio in expected.audios:
        data, rate = sf.read(io.BytesIO(base64.b64decode(audio["src"].split(",", 1)[1])), always_2d=True)
        lengths.append(data.shape[0] / rate)
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / page.name
        probed.write_text(source.replace("</head>", PROBE + "</head>", 1))
        start = time.perf_counter()
        result = chromium(f"--virtual-time-budget={budget_ms}", "--dump-dom", probed.as_uri())
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{page}: chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    dom = Elements()
    dom.feed(result.stdout)
    assert len(dom.images) == len(expected.images) > 0, (page, len(dom.images), len(expected.images))
    assert len(dom.audios) == len(expected.audios) > 0, (page, len(dom.audios), len(expected.audios))
    not_loaded = [i.get("alt") for i in dom.images if not i.get("data-natural-width", "0").isdigit()
                  or int(i["data-natural-width"]) == 0]
    assert not not_loaded, f"{page}: images not loaded: {not_loaded}"
    decoded = 0
    for audio, length in zip(dom.audios, lengths):
        assert "data-error" not in audio, f"{page}: {audio.get('aria-label')}: media error {audio['data-error']}"
        assert "data-duration" in audio, f"{page}: {audio.get('aria-label')}: no metadata within the time budget"
        assert abs(float(audio["data-duration"]) - length) < 1e-3, (audio.get("aria-label"), audio["data-duration"], length)
        decoded += 1
    return {"page": page.name, "bytes": page.stat().st_size, "images": len(dom.images), "audio": decoded,
            "seconds": seconds, "excerpt_s": lengths[0]}


def benchmark_seconds(workdir: Path) -> dict[str, float]:
    seconds = {}
    for tsv in sorted((workdir / "benchmarks" / "report").rglob("*.tsv")):
        if "listening" in str(tsv.relative_to(workdir)):
            with open(tsv) as f:
                seconds[str(tsv.relative_to(workdir))] = float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return seconds


DEMO_JOB = """
import json, sys, time
from pathlib import Path
import yaml
from umxmr.report.listening import listening_settings, write_listening_page
d = Path(sys.argv[1]); sources = ["umx-mr-0", "umx-mr-5a", "umx-mr-5b", "oracle-phasemix"]
targets = ["vocals", "drums", "bass", "other"]
settings = listening_settings(yaml.safe_load(Path(sys.argv[2]).read_text()))
write_listening_page(
    track="demo-test-01", mixture_path=d / "mixture.wav", reference_paths={t: d / f"{t}.wav" for t in targets},
    estimate_paths={s: {t: d / s / f"{t}.wav" for t in targets} for s in sources},
    score_paths={s: d / f"{s}.json" for s in sources}, sources=sources, labels={s: s for s in sources},
    oracle="oracle-phasemix", settings=settings, win=1.0, hop=1.0, rate=44100,
    page=d / "out" / "page.html", summary=d / "out" / "page.json")
"""


def demo_shaped(n_jobs: int) -> None:
    """Time `n_jobs` demo-shaped listening jobs (see the module docstring)."""
    import numpy as np

    from umxmr.data.demo import render_track

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        stems = render_track(42, "test", 1, 12 * 44100)
        for name, audio in stems.items():
            sf.write(d / f"{name}.wav", audio, 44100, subtype="PCM_16")
        refs = {t: stems[t].astype(np.float32) / 32768 for t in ("vocals", "drums", "bass", "other")}
        for k, source in enumerate(["umx-mr-0", "umx-mr-5a", "umx-mr-5b", "oracle-phasemix"]):
            (d / source).mkdir()
            for t, ref in refs.items():
                leak = sum(r for u, r in refs.items() if u != t)
                sf.write(d / source / f"{t}.wav", (0.85 + 0.03 * k) * ref + 0.1 * leak, 44100, subtype="FLOAT")
            frames = {t: [float(v) for v in rng.normal(3 + k, 2, 12)] for t in refs}
            (d / f"{source}.json").write_text(json.dumps({"targets": [
                {"name": t, "frames": [{"time": i, "duration": 1.0, "metrics": {"SDR": v}} for i, v in enumerate(vs)]}
                for t, vs in frames.items()]}))
        import resource

        total = 0.0
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(n_jobs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", DEMO_JOB, str(d), str(ROOT / "config.yaml")], check=True)
            total += time.perf_counter() - start
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
        size = (d / "out" / "page.html").stat().st_size
        print(f"demo-shaped job: {total / n_jobs:.2f} s wall each ({cpu / n_jobs:.2f} s CPU), "
              f"{n_jobs} jobs {total:.2f} s wall; page {size / 1e6:.2f} MB; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / ".test" / "config.yaml")
    parser.add_argument("--out", type=Path, default=Path("listening_screenshot.png"))
    parser.add_argument("--budget-ms", type=int, default=20000, help="Chromium's virtual time budget")
    parser.add_argument("--window", default="1400,1000", help="screenshot size, px")
    parser.add_argument("--demo-shaped", type=int, default=0, metavar="N", help="first time N demo-shaped jobs")
    args = parser.parse_args()
    if args.demo_shaped:
        demo_shaped(args.demo_shaped)

    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (args.workdir / "config.yaml").exists():
        shutil.copy(args.config, args.workdir / "config.yaml")
    run = subprocess.run(
        [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "--directory",
         str(args.workdir), "--cores", "2", "results/report/listening.html"],
        capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])

    seconds = benchmark_seconds(args.workdir)
    for name, value in seconds.items():
        print(f"{name}: {value:.2f} s")
    print(f"listening jobs, sum: {sum(seconds.values()):.2f} s")

    pages = sorted((args.workdir / "results" / "report" / "listening").glob("*.html"))
    assert pages, "no listening page"
    for page in pages:
        r = check_page(page, args.budget_ms)
        print(f"{r['page']}: {r['bytes'] / 1e6:.2f} MB, {r['images']} images loaded, {r['audio']} audio decoded "
              f"({r['excerpt_s']:.2f} s each), chromium {r['seconds']:.1f} s")
    shot = chromium(f"--window-size={args.window}", f"--virtual-time-budget={args.budget_ms}",
                    f"--screenshot={args.out.resolve()}", pages[0].as_uri())
    if shot.returncode != 0 or not args.out.exists():
        raise SystemExit(f"screenshot failed: {shot.stderr[-2000:]}")
    print(f"screenshot of {pages[0].name}: {args.out}")


if __name__ == "__main__":
    main()
