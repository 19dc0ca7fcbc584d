"""The centred STFT of `transforms.STFT` and its inverse `transforms.ISTFT`, block by block.

Full-length tracks (10 minutes and more) must not hold a whole-track spectrogram of every
source. These two pieces let separation and the oracle walk a track in blocks of frames
with the same result as the whole-track transforms (up to float rounding):

- `stft_frames` computes frames `[first, stop)` of the centred STFT (periodic Hann, reflect
  padding of `n_fft // 2` at both ends, as `torch.stft(center=True)`) from only the samples
  those frames cover, read through a `Reader`;
- `OverlapAdd` takes consecutive blocks of frames and gives back the samples that no later
  frame touches any more: `torch.istft`'s overlap-add and division by the summed squared
  window, exact across block edges because the unfinished tail (numerator and window
  envelope) is carried to the next block.

Both follow `torch.stft`/`torch.istft` (PyTorch 2.x, `center=True`, `onesided`, no
normalisation); tests/test_blocked.py checks them against those functions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

# `read(start, stop)`: samples [start, stop) of a signal, (nb_channels, stop - start)
Reader = Callable[[int, int], Tensor]


def nb_frames(length: int, n_fft: int, hop: int) -> int:
    """Frames of the centred STFT of `length` samples (as `torch.stft(center=True)`)."""
    return 1 + (length + 2 * (n_fft // 2) - n_fft) // hop


def array_reader(audio: Tensor) -> Reader:
    """A `Reader` over `(nb_channels, nb_timesteps)` audio in memory."""
    return lambda start, stop: audio[:, start:stop]


def stft_frames(read: Reader, length: int, n_fft: int, hop: int, window: Tensor, first: int, stop: int) -> Tensor:
    """Frames `[first, stop)` of the centred STFT of a signal of `length` samples.

    Returns complex `(nb_channels, n_fft // 2 + 1, stop - first)`, equal to
    `torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="reflect")[..., first:stop]`.
    Raises ValueError when the signal is not longer than `n_fft // 2` (no reflect padding).
    """
    pad = n_fft // 2
    if length <= pad:
        raise ValueError(f"a signal of {length} samples is too short for an STFT of {n_fft} (needs more than {pad})")
    # original sample indices of the padded samples [first * hop, (stop - 1) * hop + n_fft)
    start, end = first * hop - pad, (stop - 1) * hop + n_fft - pad
    parts = []
    if start < 0:  # reflect at the start: x[-start], ..., x[1]
        parts.append(read(1, 1 - start).flip(-1))
    parts.append(read(max(start, 0), min(end, length)))
    if end > length:  # reflect at the end: x[length - 2], ..., x[2 * (length - 1) - (end - 1)]
        parts.append(read(2 * (length - 1) - (end - 1), length - 1).flip(-1))
    segment = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
    return torch.stft(
        segment, n_fft=n_fft, hop_length=hop, window=window, center=False, normalized=False, onesided=True, return_complex=True
    )


class OverlapAdd:
    """The inverse of the centred STFT, fed consecutive blocks of frames.

    `push(spec)` takes frames `(..., n_fft // 2 + 1, n)` following those pushed before and
    returns the finished samples `(..., m)`; after the last of `total_frames` frames, every
    sample up to `length` has been returned (zeros past the signal, as `torch.istft` with
    `length`). Holds only the last `n_fft - hop` samples between calls.
    """

    def __init__(self, n_fft: int, hop: int, window: Tensor, total_frames: int, length: int) -> None:
        self.n_fft, self.hop, self.window = n_fft, hop, window
        self.total_frames, self.length = total_frames, length
        self.pad = n_fft // 2
        self.frames_done = 0
        self.emitted = 0  # output samples returned so far
        self.tail: Tensor | None = None  # numerator on padded samples [frames_done * hop, ...)
        self.tail_env: Tensor | None = None

    def _fold(self, frames: Tensor) -> Tensor:
        """Overlap-add `(batch, n_fft, n)` frames at hop spacing: `(batch, (n - 1) * hop + n_fft)`."""
        n = frames.shape[-1]
        out = F.fold(frames, output_size=(1, (n - 1) * self.hop + self.n_fft), kernel_size=(1, self.n_fft), stride=(1, self.hop))
        return out.reshape(frames.shape[0], -1)

    def push(self, spec: Tensor) -> Tensor:
        lead, n = spec.shape[:-2], spec.shape[-1]
        if self.frames_done + n > self.total_frames:
            raise ValueError(f"{self.frames_done + n} frames pushed, the signal has {self.total_frames}")
        frames = torch.fft.irfft(spec.reshape(-1, *spec.shape[-2:]), n=self.n_fft, dim=-2) * self.window[:, None]
        num = self._fold(frames)
        env = self._fold((self.window**2)[None, :, None].expand(1, self.n_fft, n).contiguous())[0]
        if self.tail is not None:
            num[:, : self.tail.shape[-1]] += self.tail
            env[: self.tail_env.shape[-1]] += self.tail_env
        self.frames_done += n
        # padded samples before the next frame's start are finished (all of them after the last frame)
        done = num.shape[-1] if self.frames_done == self.total_frames else n * self.hop
        self.tail, self.tail_env = num[:, done:], env[done:]
        start = (self.frames_done - n) * self.hop  # padded position of num[:, 0]
        return self._emit(num[:, :done], env[:done], start).reshape(*lead, -1)

    def _emit(self, num: Tensor, env: Tensor, start: int) -> Tensor:
        """Output samples [emitted, ...) that `num` (padded positions [start, start + len)) finishes."""
        first = self.emitted + self.pad - start  # index into num of the next output sample
        last = min(num.shape[-1], self.length + self.pad - start)
        pieces = []
        if last > first:
            if env[first:last].abs().min() <= 1e-11:
                raise ValueError("window overlap-add is zero somewhere: the STFT is not invertible (hop too large for the window)")
            pieces.append(num[:, first:last] / env[first:last])
            self.emitted += last - first
        if self.frames_done == self.total_frames and self.emitted < self.length:  # past the signal: zeros
            pieces.append(num.new_zeros(num.shape[0], self.length - self.emitted))
            self.emitted = self.length
        if not pieces:
            return num.new_zeros(num.shape[0], 0)
        return torch.cat(pieces, dim=-1) if len(pieces) > 1 else pieces[0]
