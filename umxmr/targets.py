"""The four MUSDB targets in the order every table and plot shows them.

Shared ground: compare (evaluation), the summary table and the plots (report) order their
targets the same way, so the order lives below all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["TARGET_ORDER", "target_order"]

TARGET_ORDER = ("vocals", "drums", "bass", "other")


def target_order(targets: Iterable[str]) -> list[str]:
    """vocals, drums, bass, other (those present), then the rest alphabetically."""
    present = set(targets)
    known = [t for t in TARGET_ORDER if t in present]
    return known + sorted(t for t in present if t not in TARGET_ORDER)
