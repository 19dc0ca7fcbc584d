"""Published figures quoted beside our results, each with its source and the MUSDB version it
was evaluated on; and the research notes' oracle figures.

Every number here is a reading of the source it names (a test checks that each row names a
source and a MUSDB version and reaches `summary.md` and the report; the values themselves are
checked by reading the sources, not by a test). All scores are museval v4 SDR, median over the
50 MUSDB test tracks of the median over 1 s frames, in dB.

MUSDB versions: "MUSDB18-HQ" is the uncompressed WAV release; "MUSDB18" the original release,
whose stems are AAC-compressed in STEMS MP4 files, so scores on it are labelled "compressed".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PublishedRow", "PUBLISHED_ROWS", "MUSDB_VERSIONS", "NOTES_ORACLE", "NOTES_ORACLE_SOURCE"]

MUSDB_VERSIONS = {
    "MUSDB18-HQ": "MUSDB18-HQ test (lossless WAV)",
    "MUSDB18": "MUSDB18 test (compressed, AAC in STEMS MP4)",
}


@dataclass(frozen=True)
class PublishedRow:
    """One published result: ``sdr`` per target, the model's training data, the MUSDB version
    the scores were computed on (a key of :data:`MUSDB_VERSIONS`) and where they are printed."""

    name: str
    sdr: dict[str, float]
    trained_on: str
    evaluated_on: str
    source: str

    @property
    def evaluated_on_label(self) -> str:
        return MUSDB_VERSIONS[self.evaluated_on]


PUBLISHED_ROWS: tuple[PublishedRow, ...] = (
    PublishedRow(
        "UMX-HQ (umxhq), open-unmix v1.0.0 code",
        {"vocals": 6.16, "drums": 5.78, "bass": 5.03, "other": 4.22},
        trained_on="MUSDB18-HQ",
        evaluated_on="MUSDB18-HQ",
        source="sevagh/xumx_slicq_extra, mss_evaluation/eval-20220408/evaluation_results.txt ('umx, v1.0.0')",
    ),
    PublishedRow(
        "UMX-HQ (umxhq)",
        {"vocals": 6.25, "drums": 6.04, "bass": 5.07, "other": 4.28},
        trained_on="MUSDB18-HQ",
        evaluated_on="MUSDB18",
        source="sigsep/open-unmix-pytorch, README.md (Scores)",
    ),
    PublishedRow(
        "X-UMX, re-evaluated",
        {"vocals": 6.79, "drums": 6.46, "bass": 5.35, "other": 4.55},
        trained_on="MUSDB18",
        evaluated_on="MUSDB18-HQ",
        source="sevagh/xumx_slicq_extra, mss_evaluation/eval-20220408/evaluation_results.txt ('xumx')",
    ),
    PublishedRow(
        "X-UMX",
        {"vocals": 6.61, "drums": 6.47, "bass": 5.43, "other": 4.64},
        trained_on="MUSDB18",
        evaluated_on="MUSDB18",
        source="asteroid-team/asteroid, egs/musdb18/X-UMX/README.md",
    ),
)

NOTES_ORACLE_SOURCE = (
    "the research notes (umx-mr-notes.md, 'Hyperparam search for phasemix oracle'): "
    "MUSDB18-HQ, its 14 validation tracks, global SDR, mean over tracks"
)

# The notes' phase-mix oracle search: window (samples, hop = window // 4) and SDR in dB.
NOTES_ORACLE: dict[str, dict[str, tuple[int, float]]] = {
    "single STFT, best (seed 1337)": {"total": (8320, 7.119)},
    "single STFT, best (seed 42)": {"total": (7808, 7.116)},
    "single STFT, control 8192": {
        "bass": (8192, 6.14), "drums": (8192, 6.54), "vocals": (8192, 8.95), "other": (8192, 6.76), "total": (8192, 7.10),
    },
    "per target, best (seed 1337)": {
        "bass": (15232, 6.327), "drums": (5632, 6.637), "other": (11648, 6.813), "vocals": (6912, 9.009),
    },
    "per target, best (seed 42)": {
        "bass": (14080, 6.311), "drums": (6656, 6.619), "other": (11264, 6.797), "vocals": (6656, 9.006),
    },
    "per target, control 4096": {
        "bass": (4096, 5.55), "drums": (4096, 6.56), "vocals": (4096, 8.85), "other": (4096, 6.51), "total": (4096, 6.87),
    },
}
