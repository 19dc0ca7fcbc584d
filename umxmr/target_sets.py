"""Which sources a study scores, for any subset of the four MUSDB targets.

Shared ground (torch-free): the rules read it when the workflow is parsed (what separate,
the oracle and evaluate write and read), evaluation scores with it and the summary says
what the numbers mean.

museval evaluates the estimates it is given jointly (BSSEval v4 projects each estimate on
all given references). So:

* four targets: the usual MUSDB evaluation (``museval.eval_mus_track`` with vocals, drums,
  bass and other);
* one target: BSSEval needs at least two sources, so the target is scored together with its
  complement, the sum of the three other stems, as ``museval.eval_mus_track`` scores vocals
  with musdb's ``accompaniment`` (= drums + bass + other). The complement's estimate is the
  separation's residual (mixture minus the target, ``separation.residual: true``). musdb
  names only vocals' complement ("accompaniment"); drums, bass and other get
  ``no_drums``, ``no_bass``, ``no_other`` (the two-stem names of Demucs);
* two or three targets: scored jointly among themselves; the stems left out are not
  references, so what leaks from them into an estimate counts as artifacts (SAR), not as
  interference (SIR): the numbers are not those of a four-target evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from umxmr.settings import variant_separation

__all__ = ["COMPLEMENTS", "TargetSet", "target_set", "target_set_errors"]

STEM_TARGETS = ("vocals", "drums", "bass", "other")
COMPLEMENTS = {"vocals": "accompaniment", "drums": "no_drums", "bass": "no_bass", "other": "no_other"}


@dataclass(frozen=True)
class TargetSet:
    """The trained `targets`, and for a single target its `complement` (a name) and the
    stems summed into it (`complement_stems`, in MUSDB order)."""

    targets: tuple[str, ...]
    complement: str | None = None
    complement_stems: tuple[str, ...] = ()

    @property
    def scored(self) -> list[str]:
        """Every source written by separate and the oracle, and scored by evaluate."""
        return [*self.targets, *([self.complement] if self.complement else [])]

    @property
    def sums(self) -> dict[str, list[str]]:
        """Scored sources that are sums of stems (reference = sum of those stem files)."""
        return {self.complement: list(self.complement_stems)} if self.complement else {}

    def meaning(self) -> str:
        """What the scores mean, one paragraph for the summary."""
        if self.complement:
            (target,) = self.targets
            return (
                f"Single-target study: {target} is scored together with {self.complement} "
                f"(= {' + '.join(self.complement_stems)}; a variant's estimate of it is the separation's residual, "
                f"mixture minus {target}, the oracle's the phase-mix of the sum), as museval.eval_mus_track scores "
                f"vocals with accompaniment; BSSEval needs two sources, and the {target} scores are those of this pair."
            )
        if len(self.targets) == len(STEM_TARGETS):
            return "The four MUSDB targets, evaluated jointly by museval (as museval.eval_mus_track)."
        left_out = [t for t in STEM_TARGETS if t not in self.targets]
        return (
            f"Targets {', '.join(self.targets)} are evaluated jointly by museval among themselves only; "
            f"{', '.join(left_out)} {'is' if len(left_out) == 1 else 'are'} not a reference, so what leaks from "
            "it into an estimate counts as artifacts (SAR), not interference (SIR): these scores are not those "
            "of a four-target MUSDB evaluation."
        )


def target_set(targets: Sequence[str]) -> TargetSet:
    """The scored sources of a study training `targets` (a subset of vocals, drums, bass, other)."""
    targets = tuple(targets)
    unknown = [t for t in targets if t not in STEM_TARGETS]
    if unknown or not targets or len(set(targets)) != len(targets):
        raise ValueError(f"targets: {list(targets)} must be distinct names among {', '.join(STEM_TARGETS)}")
    if len(targets) > 1:
        return TargetSet(targets)
    (target,) = targets
    return TargetSet(targets, COMPLEMENTS[target], tuple(t for t in ("drums", "bass", "other", "vocals") if t != target))


def target_set_errors(config: Mapping[str, Any]) -> list[str]:
    """Plain-word problems of `config['targets']` with the evaluated variants' separation
    settings; empty when the study is complete.

    A single target needs `separation.residual: true` in every evaluated variant: the
    residual is the complement's estimate.
    """
    targets = config["targets"]
    if len(targets) != 1:
        return []
    (target,) = targets
    errors = []
    for name in config["evaluation"]["variants"]:
        if variant_separation(config, name).get("residual"):
            continue
        key = f"variants.{name}.separation.residual" if config["separation"]["residual"] else "separation.residual"
        error = (
            f"{key}: false, but targets: [{target}] is scored with its complement {COMPLEMENTS[target]}, "
            f"whose estimate is the separation's residual; set {key}: true"
        )
        if error not in errors:
            errors.append(error)
    return errors
