"""The best of several seeds becomes the variant's model."""

from __future__ import annotations

import json

from umxmr.training.seeds import select_best_seed


def test_lowest_validation_loss_wins_and_every_seed_is_listed(tmp_path):
    seeds, summaries, weights = [7, 3, 9], [], []
    for seed, loss in zip(seeds, [2.5, 1.5, 1.5]):
        summaries.append(tmp_path / f"{seed}.json")
        summaries[-1].write_text(json.dumps({"best_loss": loss, "args": {"train": {"seed": seed}}}))
        weights.append(tmp_path / f"{seed}.pth")
        weights[-1].write_bytes(f"weights of {seed}".encode())
    summary = select_best_seed(seeds, summaries, weights, tmp_path / "out/vocals.pth", tmp_path / "out/vocals.json")
    assert summary["selected_seed"] == 3  # tie with seed 9: the first listed wins
    assert summary["seed_best_losses"] == {"7": 2.5, "3": 1.5, "9": 1.5}
    assert (tmp_path / "out/vocals.pth").read_bytes() == b"weights of 3"
    on_disk = json.loads((tmp_path / "out/vocals.json").read_text())
    assert on_disk == summary and on_disk["args"]["train"]["seed"] == 3
