"""Pick the best of several seeds of one target model.

open-unmix's published umxhq weights are the best of 4 seeds per target (lowest validation
loss; sigsep/open-unmix-pytorch `docs/training.md`). Each seed trains as its own job; this keeps the seed with the lowest `best_loss` as
`results/{variant}/{target}.pth/.json` and lists every seed's best loss in that JSON.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from umxmr.atomic import atomic_path, write_text


def select_best_seed(seeds: Sequence[int], summaries: Sequence[Path], weights: Sequence[Path], out_pth: Path, out_json: Path) -> dict[str, Any]:
    """Copy the lowest-validation-loss seed's weights and summary; add every seed's best loss."""
    loaded = [json.loads(Path(path).read_text()) for path in summaries]
    best_losses = {str(seed): summary["best_loss"] for seed, summary in zip(seeds, loaded)}
    # ties go to the first seed listed, so the choice does not depend on file order
    index = min(range(len(loaded)), key=lambda i: (loaded[i]["best_loss"], i))
    summary = {**loaded[index], "selected_seed": seeds[index], "seed_best_losses": best_losses}
    with atomic_path(out_pth) as tmp:
        shutil.copyfile(weights[index], tmp)
    write_text(out_json, json.dumps(summary, indent=2, sort_keys=True))
    return summary
