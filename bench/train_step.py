"""One training step of umx-mr-0 vs openunmix.model.OpenUnmix, same process, same input.

A step = STFT of mixture and target, magnitude, forward, MSE, backward, Adam step, at the
published sizes (batch 16, 6 s stereo excerpts, n_fft 4096, hidden 512, 3 BLSTM layers).
Both models start from the same weights (openunmix's copied into ours). Steps alternate
between the two so machine noise hits both alike; the median of the repeats is reported.

    PYTHONPATH=. python bench/train_step.py [--device cpu|cuda] [--repeats 7] [--threads 2]

openunmix 1.3.0 is a test-only dependency (pip install --no-deps); torchaudio is stubbed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types

import torch

if "torchaudio" not in sys.modules:
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")

from openunmix.model import OpenUnmix as TheirOpenUnmix  # noqa: E402
from openunmix.transforms import ComplexNorm, TorchSTFT  # noqa: E402

from umxmr.models.registry import build_model  # noqa: E402
from umxmr.models.openunmix import from_openunmix_state_dict  # noqa: E402
from umxmr.settings import PUBLISHED_DEFAULTS  # noqa: E402
from umxmr.models.transforms import STFT, magnitude  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_steps(device: torch.device):
    torch.manual_seed(0)
    theirs = TheirOpenUnmix(nb_bins=2049, nb_channels=2, hidden_size=512, nb_layers=3, max_bin=1487).to(device)
    ours = build_model(PUBLISHED_DEFAULTS, 44100.0).to(device)
    ours.load_state_dict(from_openunmix_state_dict(theirs.state_dict()))
    their_stft, their_norm = TorchSTFT(n_fft=4096, n_hop=1024, center=False).to(device), ComplexNorm()
    our_stft = STFT(4096, 1024, center=False).to(device)

    def step(model, optimizer, spectrogram):
        def run(x, y):
            loss = torch.nn.functional.mse_loss(model(spectrogram(x)), spectrogram(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()

        return run

    return {
        "umx-mr-0": step(ours.train(), torch.optim.Adam(ours.parameters(), 1e-3, weight_decay=1e-5),
                         lambda a: magnitude(our_stft(a))),
        "openunmix": step(theirs.train(), torch.optim.Adam(theirs.parameters(), 1e-3, weight_decay=1e-5),
                          lambda a: their_norm(their_stft(a))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 2, int(args.seconds * 44100), generator=gen).to(device)
    y = 0.5 * x + 0.1 * torch.randn(x.shape, generator=gen).to(device)
    steps = make_steps(device)
    times = {name: [] for name in steps}
    losses = {name: [] for name in steps}
    for name, step in steps.items():  # warm-up
        step(x, y)
    for _ in range(args.repeats):
        for name, step in steps.items():
            sync(device)
            start = time.perf_counter()
            losses[name].append(step(x, y))
            sync(device)
            times[name].append(time.perf_counter() - start)
    for name in steps:
        print(f"{name:10s} median {statistics.median(times[name]):.3f} s/step  "
              f"(min {min(times[name]):.3f}, max {max(times[name]):.3f}, n={args.repeats})")
    ratio = statistics.median(times["umx-mr-0"]) / statistics.median(times["openunmix"])
    print(f"ratio umx-mr-0 / openunmix: {ratio:.3f}  (goal <= 1.05)")
    same = max(abs(a - b) for a, b in zip(losses["umx-mr-0"], losses["openunmix"]))
    print(f"largest loss difference over the steps: {same:.2e} (dropout masks differ between the models)")
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch}, {args.seconds} s stereo")


if __name__ == "__main__":
    main()
