"""umx-mr-7 ("umx-nsgt") and umx-mr-7-whole: Open-Unmix's core on an NSGT magnitude instead of an STFT one.

The input: the sliced NSGT's slices overlap-added onto one grid (umx-mr-7, umxmr.models.slicq:
one coefficient per ~62 samples for the Bark sliCQ; `frame_pool` 16) or the whole-signal
octave-scale NSGT in matrix form (umx-mr-7-whole, umxmr.models.nsgt: one per ~18 samples at
12 bands per octave up to 22 kHz, set by the widest band; `frame_pool` 56), one row per band,
many more time coefficients than an STFT has frames. The recurrent core would crawl over that, so the
magnitude is averaged over `frame_pool` coefficients per frame (56 gives ~1030 samples, the
STFT's hop); the core's mask is held over those coefficients and multiplied with the
mixture's NSGT magnitude. So the output keeps the NSGT's full time resolution per band.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from umxmr.models.openunmix import OpenUnmix


class NsgtUnmix(OpenUnmix):
    """`forward(mag)`: NSGT magnitude `(nb_samples, nb_channels, nb_bands, nb_coefs)` → target magnitude."""

    def __init__(self, frame_pool: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame_pool = frame_pool

    def forward(self, x: Tensor) -> Tensor:
        mix = x.detach().clone()
        nb_samples, nb_channels, nb_bands, nb_coefs = x.shape
        pooled = F.avg_pool1d(
            x.reshape(-1, 1, nb_coefs), self.frame_pool, self.frame_pool, ceil_mode=True
        ).reshape(nb_samples, nb_channels, nb_bands, -1)
        # to (nb_frames, nb_samples, nb_channels, nb_bands), normalised as OpenUnmix
        pooled = (pooled.permute(3, 0, 1, 2) + self.input_mean) * self.input_scale
        mask = self.core(pooled).permute(1, 2, 3, 0)
        return mask.repeat_interleave(self.frame_pool, dim=-1)[..., :nb_coefs] * mix
