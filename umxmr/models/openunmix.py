"""Open-Unmix, with the switches the umx-mr variants turn.

With default arguments this is `openunmix.model.OpenUnmix` (v1.3.0) layer for layer; the
only naming difference is the recurrent layer, `rnn` here and `lstm` there
(`from_openunmix_state_dict` maps it). The switches are the notes' ideas:

- `act_before_bn`: fc1 → tanh → bn1 and fc2 → relu → bn2 (umx-mr-1),
- `bn3=False`: no batch norm before the output (umx-mr-1),
- `output_mean_init`: 0 instead of 1 (umx-mr-1),
- `rnn="gru"`: GRU core instead of LSTM (umx-mr-2),
- `first_layer="conv"`, `output_activation="sigmoid"`, `rnn_dropout=0`: the ideas that
  "didn't work too well", kept runnable so the claim can be re-checked.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

RNNS = {"lstm": nn.LSTM, "gru": nn.GRU}
OUTPUT_ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid}


class OpenUnmix(nn.Module):
    """Spectrogram model for one target.

    Args:
        nb_bins (int): STFT bins of the input, `n_fft // 2 + 1` (Default: `2049`).
        nb_channels (int): audio channels (Default: `2`).
        hidden_size (int): size of the bottleneck layers (Default: `512`).
        nb_layers (int): recurrent layers (Default: `3`).
        unidirectional (bool): causal recurrent core (Default: `False`).
        max_bin (int or None): bins the model sees; the rest are cropped
            (Default: `None`, all bins).
        input_mean (ndarray or None): dataset mean per bin (Default: zeros).
        input_scale (ndarray or None): dataset std per bin (Default: ones).
        rnn (str): `"lstm"` or `"gru"` (Default: `"lstm"`).
        rnn_dropout (float): dropout between recurrent layers, 0 with one layer
            (Default: `0.4`).
        act_before_bn (bool): activation before batch norm in fc1/fc2 (Default: `False`).
        bn3 (bool): batch norm after fc3 (Default: `True`).
        output_mean_init (float): initial `output_mean` (Default: `1.0`).
        first_layer (str): `"linear"` (fc1 per frame) or `"conv"` (fc1 as a 1-D
            convolution over frames, kernel 3) (Default: `"linear"`).
        output_activation (str): `"relu"` or `"sigmoid"` before the product with the
            mixture (Default: `"relu"`).
    """

    def __init__(
        self,
        nb_bins: int = 2049,
        nb_channels: int = 2,
        hidden_size: int = 512,
        nb_layers: int = 3,
        unidirectional: bool = False,
        max_bin: int | None = None,
        input_mean: np.ndarray | None = None,
        input_scale: np.ndarray | None = None,
        rnn: str = "lstm",
        rnn_dropout: float = 0.4,
        act_before_bn: bool = False,
        bn3: bool = True,
        output_mean_init: float = 1.0,
        first_layer: str = "linear",
        output_activation: str = "relu",
    ) -> None:
        super().__init__()
        self.nb_output_bins = nb_bins
        self.nb_bins = max_bin or nb_bins
        self.nb_channels = nb_channels
        self.hidden_size = hidden_size
        self.act_before_bn = act_before_bn
        self.first_layer = first_layer
        self.output_activation = output_activation

        nb_inputs = self.nb_bins * nb_channels
        if first_layer == "linear":
            self.fc1 = nn.Linear(nb_inputs, hidden_size, bias=False)
        elif first_layer == "conv":
            self.fc1 = nn.Conv1d(nb_inputs, hidden_size, kernel_size=3, padding=1, bias=False)
        else:
            raise ValueError(f"model.first_layer: {first_layer!r} is not one of 'linear', 'conv'")
        self.bn1 = nn.BatchNorm1d(hidden_size)

        if rnn not in RNNS:
            raise ValueError(f"model.rnn: {rnn!r} is not one of {', '.join(RNNS)}")
        rnn_hidden = hidden_size if unidirectional else hidden_size // 2
        self.rnn = RNNS[rnn](
            input_size=hidden_size,
            hidden_size=rnn_hidden,
            num_layers=nb_layers,
            bidirectional=not unidirectional,
            batch_first=False,
            dropout=rnn_dropout if nb_layers > 1 else 0,
        )

        self.fc2 = nn.Linear(hidden_size * 2, hidden_size, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden_size)
        self.fc3 = nn.Linear(hidden_size, self.nb_output_bins * nb_channels, bias=False)
        self.bn3 = nn.BatchNorm1d(self.nb_output_bins * nb_channels) if bn3 else None

        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"model.output_activation: {output_activation!r} is not one of "
                f"{', '.join(OUTPUT_ACTIVATIONS)}"
            )

        # stored as open-unmix does: the negated mean and the inverse scale
        mean = torch.zeros(self.nb_bins)
        scale = torch.ones(self.nb_bins)
        if input_mean is not None:
            mean = torch.from_numpy(-np.asarray(input_mean)[: self.nb_bins]).float()
        if input_scale is not None:
            scale = torch.from_numpy(1.0 / np.asarray(input_scale)[: self.nb_bins]).float()
        self.input_mean = nn.Parameter(mean)
        self.input_scale = nn.Parameter(scale)
        self.output_scale = nn.Parameter(torch.ones(self.nb_output_bins))
        self.output_mean = nn.Parameter(torch.full((self.nb_output_bins,), float(output_mean_init)))

    def _norm_act(self, x: Tensor, bn: nn.Module, act) -> Tensor:
        return bn(act(x)) if self.act_before_bn else act(bn(x))

    @property
    def frame_halo(self) -> int:
        """Neighbour frames each side that one output frame of `encode` reads (1 for the conv fc1)."""
        return 1 if self.first_layer == "conv" else 0

    def _encode(self, x: Tensor, padded: bool = True) -> Tensor:
        """fc1 on `(nb_frames, nb_samples, nb_channels, nb_bins)`, to `(frames*nb_samples, hidden)`.

        The conv fc1 zero-pads one frame at each end when `padded`; otherwise `x` brings its
        neighbour frames itself (a halo of `frame_halo` frames) and the output has that many
        frames fewer at each end.
        """
        nb_frames, nb_samples = x.shape[:2]
        if self.first_layer == "conv":
            # to (nb_samples, nb_channels*nb_bins, nb_frames), convolve over frames, back
            x = x.reshape(nb_frames, nb_samples, -1).permute(1, 2, 0)
            x = self.fc1(x) if padded else F.conv1d(x, self.fc1.weight, self.fc1.bias)
            return x.permute(2, 0, 1).reshape(-1, self.hidden_size)
        # to (nb_frames*nb_samples, nb_channels*nb_bins)
        return self.fc1(x.reshape(nb_frames * nb_samples, -1))

    def forward(self, x: Tensor) -> Tensor:
        """
        Args:
            x: mixture magnitude `(nb_samples, nb_channels, nb_bins, nb_frames)`

        Returns:
            Tensor: target magnitude `(nb_samples, nb_channels, nb_bins, nb_frames)`
        """
        # to (nb_frames, nb_samples, nb_channels, nb_bins)
        x = x.permute(3, 0, 1, 2)
        mix = x.detach().clone()

        x = x[..., : self.nb_bins]
        x = (x + self.input_mean) * self.input_scale
        # a non-negative mask-like factor times the mixture magnitude
        return (self.core(x) * mix).permute(1, 2, 3, 0)

    def core(self, x: Tensor) -> Tensor:
        """Everything after the input normalisation: the mask-like factor.

        `(nb_frames, nb_samples, nb_channels, nb_bins)` normalised features to
        `(nb_frames, nb_samples, nb_channels, nb_output_bins)`; the multi-resolution and
        NSGT models feed it their own features. `encode` and `decode` work frame by frame
        (batch norm in eval mode), only `recurrent` needs the whole sequence, so separation
        can run them block by block (umxmr.separation.separate).
        """
        return self.decode(self.recurrent(self.encode(x)), x.shape[2])

    def encode(self, x: Tensor, padded: bool = True) -> Tensor:
        """fc1 → bn1/tanh: normalised `(nb_frames, nb_samples, nb_channels, nb_bins)` to
        `(nb_frames, nb_samples, hidden)` (`padded`: see `_encode`)."""
        nb_samples = x.shape[1]
        x = self._norm_act(self._encode(x, padded), self.bn1, torch.tanh)
        return x.reshape(-1, nb_samples, self.hidden_size)

    def recurrent(self, x: Tensor) -> Tensor:
        """The recurrent core and its skip connection: `(nb_frames, nb_samples, hidden)` to
        `(nb_frames, nb_samples, 2 * hidden)`; a bidirectional core needs the whole sequence."""
        rnn_out, _ = self.rnn(x)
        # skip connection around the recurrent core
        return torch.cat([x, rnn_out], -1)

    def decode(self, x: Tensor, nb_channels: int) -> Tensor:
        """fc2 → bn2/relu → fc3 → bn3 → output scale, mean and activation, frame by frame:
        `(nb_frames, nb_samples, 2 * hidden)` to `(nb_frames, nb_samples, nb_channels, nb_output_bins)`."""
        return self.decode_output(self.decode_hidden(x), nb_channels)

    def decode_hidden(self, x: Tensor) -> Tensor:
        """fc2 → bn2/relu: `(nb_frames, nb_samples, 2 * hidden)` to `(nb_frames, nb_samples, hidden)`."""
        nb_frames, nb_samples = x.shape[:2]
        x = self._norm_act(self.fc2(x.reshape(-1, x.shape[-1])), self.bn2, F.relu)
        return x.reshape(nb_frames, nb_samples, self.hidden_size)

    def decode_output(self, x: Tensor, nb_channels: int) -> Tensor:
        """fc3 → bn3 → output scale, mean and activation: `(nb_frames, nb_samples, hidden)` to
        `(nb_frames, nb_samples, nb_channels, nb_output_bins)`."""
        nb_frames, nb_samples = x.shape[:2]
        x = self.fc3(x.reshape(-1, self.hidden_size))
        if self.bn3 is not None:
            x = self.bn3(x)

        x = x.reshape(nb_frames, nb_samples, nb_channels, self.nb_output_bins)
        x = x * self.output_scale + self.output_mean
        return OUTPUT_ACTIVATIONS[self.output_activation](x)


def from_openunmix_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map an `openunmix.model.OpenUnmix` state dict onto ours (`lstm.*` → `rnn.*`)."""
    return {("rnn." + k[len("lstm.") :] if k.startswith("lstm.") else k): v for k, v in state.items()}
