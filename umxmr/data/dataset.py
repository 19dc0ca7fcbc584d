"""Training and validation samples, as open-unmix's MUSDBDataset draws them.

Training: for each source a random excerpt of `seq_dur` seconds (from a random track when
`random_track_mix`, as open-unmix does), source augmentations (gain 0.25–1.25, channel
swap with p 0.5), mixture = sum of the sources. Validation: the full track, mixture and
target as stored.

Open-unmix draws from Python's global `random`; here every sample is a pure function of
(seed, epoch, index), so a resumed training draws exactly what an uninterrupted one would,
whatever the worker count.

On-device data path (`train.data_path: device`, as Demucs does in `demucs/augment.py`): the
loader returns only the raw stems of each excerpt (`stems=True`: each source from the item's
own track, each at its own uniform start), and `mix_on_device` draws the random track mix,
the gain and the channel swap on the device, batch-wise, from a generator seeded per batch,
then sums the mixture. Per source and item the distributions are open-unmix's: gain uniform in
[0.25, 1.25), swap with p 0.5, start uniform; the track of each source is the track of a
uniformly drawn item of the same batch (with replacement), which is uniform over the tracks
because the batches are a uniform permutation of the excerpts. Unlike open-unmix, the
sources of one batch come from the tracks of that batch only (at most `batch_size` tracks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from umxmr.data.audio import read_audio
from umxmr.data.layout import TrackInfo

SOURCES = ("vocals", "drums", "bass", "other")  # musdb's setup order


def augment_gain(audio: np.ndarray, rng: np.random.Generator, low: float = 0.25, high: float = 1.25) -> np.ndarray:
    """Random gain, uniform in [low, high)."""
    return audio * rng.uniform(low, high)


def augment_channelswap(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swap left and right with probability 0.5."""
    return audio[:, ::-1] if audio.shape[1] == 2 and rng.uniform() < 0.5 else audio


AUGMENTATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "gain": augment_gain,
    "channelswap": augment_channelswap,
}


class ExcerptDataset(torch.utils.data.Dataset):
    """Random excerpts of one target and its mixture, `samples_per_track` per track and epoch."""

    def __init__(
        self,
        tracks: Sequence[TrackInfo],
        target: str,
        seq_dur: float,
        samples_per_track: int,
        augmentations: Sequence[str],
        random_track_mix: bool,
        seed: int,
        sources: Sequence[str] = SOURCES,
        stems: bool = False,
    ) -> None:
        if target not in sources:
            raise ValueError(f"target {target!r} is not one of the sources {', '.join(sources)}")
        unknown = set(augmentations) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"train.source_augmentations: unknown {sorted(unknown)}; known: {', '.join(AUGMENTATIONS)}")
        self.tracks = list(tracks)
        self.target = target
        self.sources = list(sources)
        self.samples_per_track = samples_per_track
        self.augmentations = [AUGMENTATIONS[name] for name in augmentations]
        self.random_track_mix = random_track_mix
        self.seed = seed
        self.epoch = 0
        self.stems = stems
        self.seq_frames = int(seq_dur * tracks[0].rate)
        too_short = [t.name for t in self.tracks if t.frames < self.seq_frames]
        if too_short:
            raise ValueError(
                f"train.seq_dur: {seq_dur} s is longer than track(s) {', '.join(too_short)}; "
                "lower train.seq_dur"
            )

    def __len__(self) -> int:
        return len(self.tracks) * self.samples_per_track

    def __getitem__(self, index: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        """(mixture, target), each (nb_channels, nb_timesteps); with `stems`, the raw stems,
        unaugmented: one (nb_timesteps, nb_channels) tensor per source, for `stack_stems`
        and `mix_on_device`.

        `index` may be `(epoch, index)`: a worker that lives across epochs (persistent
        workers) holds a copy of the dataset whose `epoch` attribute is stale.
        """
        epoch, index = index if isinstance(index, tuple) else (self.epoch, index)
        if self.stems:
            return self._stems(epoch, index)
        rng = np.random.default_rng([self.seed, epoch, index])
        track = self.tracks[index // self.samples_per_track]
        stems = []
        for source in self.sources:
            if self.random_track_mix:
                track = self.tracks[rng.integers(len(self.tracks))]
            start = int(rng.uniform(0, track.frames - self.seq_frames))
            audio = read_audio(track.path(source), start=start, frames=self.seq_frames)
            for augment in self.augmentations:
                audio = augment(audio, rng)
            stems.append(audio)
        mixture = np.sum(stems, axis=0)
        target = stems[self.sources.index(self.target)]
        # to (nb_channels, nb_timesteps)
        return torch.from_numpy(np.ascontiguousarray(mixture.T)), torch.from_numpy(np.ascontiguousarray(target.T))

    def _stems(self, epoch: int, index: int) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng([self.seed, epoch, index, 1])
        track = self.tracks[index // self.samples_per_track]
        stems = []
        for source in self.sources:
            start = int(rng.uniform(0, track.frames - self.seq_frames))
            stems.append(torch.from_numpy(read_audio(track.path(source), start=start, frames=self.seq_frames)))
        # as read, (nb_timesteps, nb_channels) each: the loader's collate stacks each source over
        # the batch, `stack_stems` stacks the sources on the device (no copy here)
        return tuple(stems)


def stack_stems(batch: Sequence[torch.Tensor], device: torch.device) -> torch.Tensor:
    """A loader's batch of `stems=True` excerpts (one (nb_samples, nb_timesteps, nb_channels)
    tensor per source) to one (nb_samples, nb_sources, nb_channels, nb_timesteps) on `device`."""
    return torch.stack([stem.to(device, non_blocking=True) for stem in batch], dim=1).transpose(-1, -2)


def mix_on_device(
    stems: torch.Tensor,
    target: int,
    augmentations: Sequence[str],
    random_track_mix: bool,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random track mix, augmentations and the mixture of a batch of stems, on their device.

    stems: (nb_samples, nb_sources, nb_channels, nb_timesteps), on the device of `generator`.
    Returns (mixture, target stem), each (nb_samples, nb_channels, nb_timesteps). The random
    track mix takes source s of item b from item j ~ uniform{0..nb_samples-1} (Demucs' Remix
    permutes instead; drawing with replacement keeps open-unmix's independence between the
    sources of one item); gain: one factor uniform in [0.25, 1.25) per item and source; channel
    swap: left/right exchanged with p 0.5 per item and source (stereo only), in the order of
    `augmentations` (see the module docstring for how this compares with open-unmix).
    """
    unknown = set(augmentations) - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(f"train.source_augmentations: unknown {sorted(unknown)}; known: {', '.join(AUGMENTATIONS)}")
    nb_samples, nb_sources, nb_channels, _ = stems.shape
    device = stems.device
    shape = (nb_samples, nb_sources)
    if random_track_mix:
        item = torch.randint(nb_samples, shape, generator=generator, device=device)
    else:
        item = torch.arange(nb_samples, device=device)[:, None].expand(shape)
    channel = torch.arange(nb_channels, device=device).expand(*shape, nb_channels)
    gain = None
    for name in augmentations:  # drawn in this order; gain and swap commute, so applied together
        if name == "gain":
            gain = 0.25 + torch.rand((*shape, 1, 1), generator=generator, device=device, dtype=stems.dtype)
        elif name == "channelswap" and nb_channels == 2:
            swap = torch.rand(shape, generator=generator, device=device) < 0.5
            channel = torch.where(swap[..., None], channel.flip(-1), channel)
    # one gather: out[b, s, c] = stems[item[b, s], s, channel[b, s, c]]
    source = torch.arange(nb_sources, device=device)[None, :, None]
    out = stems[item[..., None], source, channel]
    if gain is not None:
        out.mul_(gain)
    return out.sum(1), out[:, target]


class FullTrackDataset(torch.utils.data.Dataset):
    """Whole tracks: mixture.wav and the target's wav, for validation."""

    def __init__(self, tracks: Sequence[TrackInfo], target: str) -> None:
        self.tracks = list(tracks)
        self.target = target

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        track = self.tracks[index]
        mixture = read_audio(track.path("mixture")).T
        target = read_audio(track.path(self.target)).T
        return torch.from_numpy(np.ascontiguousarray(mixture)), torch.from_numpy(np.ascontiguousarray(target))
