"""DepthNet of the RFM released code: feature extractor F, depth estimator D, meta learner M.

All convolutions are 3x3, stride 1, padding 1, with bias, followed by BatchNorm and ReLU.
"""

from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from torch import nn

from metafas.models.colour import COLOUR_SPACES, ColourInput
from metafas.models.domain_norm import DomainBatchNorm2d
from metafas.models.mixstyle import MIX_RULES, MixStyle

MIXSTYLE_BLOCKS = ("stem", "block1", "block2", "block3")


@dataclass(frozen=True)
class DepthNetConfig:
    """Architecture of DepthNet.

    Attributes:
        input_size: side of the square face crop; the depth map is input_size / 8.
        colour_space: "rgb+hsv" (the paper's 6-channel input) or "rgb".
        width: channel multiplier; 1.0 is the paper's network, smaller ones are CPU presets.
        channel_multiple: every scaled width is rounded to a multiple of this (1: plain
            rounding, the paper's 196 channels). CPU convolution kernels process channels in
            SIMD-register blocks (8 fp32 lanes with AVX2, 16 with AVX512), and an odd width such
            as width 0.25's round(196 * 0.25) = 49 leaves a partly filled block in every layer
            (benchmarks/roofline.py measures the effect).
        channels_last: true to keep weights, and so every activation, in channels-last (NHWC)
            memory order: other kernels, the same network; false for contiguous (NCHW); "auto"
            for channels-last exactly where the run's precision is bf16. CPU convolutions and
            max-pooling run channels-last natively, and under bf16 autocast contiguous
            activations are copied at every convolution (measured on a 2-core AMX Xeon, cpu
            preset: 1.3x to 1.4x faster steps in bf16; on an AVX2 EPYC in fp32: no gain).
            PyTorch's CPU channels-last BatchNorm computes its batch statistics less accurately,
            though: fp32 gradients of F agree with float64 to about 4e-3 (relative), against
            7e-6 contiguous. bf16 autocast is far coarser by itself (at the cpu preset F's
            weight gradients differ from fp32 by up to 0.65 relative, in either layout), so
            "auto" adds next to nothing to its error.
        mixstyle: MixStyle (Zhou et al., ICLR 2021; metafas.models.mixstyle) in F at training
            time, for any method; off adds nothing to the network or its state dict.
        mixstyle_p: probability that MixStyle mixes a batch (the paper's 0.5).
        mixstyle_alpha: lambda ~ Beta(alpha, alpha) (the paper's 0.1).
        mixstyle_after: comma-separated blocks of F whose output MixStyle mixes, from stem,
            block1, block2, block3; the default block1,block2 is the paper's best placement
            (after its first two residual stages), block3's output being M's input.
        mixstyle_mix: "crossdomain" (partners always from another source domain; a choice) or
            "random" (the paper's random shuffle of the batch, the released code's default).
    """

    input_size: int = 256
    colour_space: str = "rgb+hsv"
    width: float = 1.0
    channel_multiple: int = 1
    channels_last: bool | str = False
    mixstyle: bool = False
    mixstyle_p: float = 0.5
    mixstyle_alpha: float = 0.1
    mixstyle_after: str = "block1,block2"
    mixstyle_mix: str = "crossdomain"

    def __post_init__(self):
        if self.input_size < 16 or self.input_size % 8:
            raise ValueError(
                f"model.input_size must be a multiple of 8 >= 16, got {self.input_size}"
            )
        if self.colour_space not in COLOUR_SPACES:
            known = ", ".join(COLOUR_SPACES)
            raise ValueError(f"model.colour_space {self.colour_space!r} unknown; known: {known}")
        if not 0 < self.width <= 4:
            raise ValueError(f"model.width must be in (0, 4], got {self.width}")
        if not 1 <= self.channel_multiple <= 64:
            raise ValueError(
                f"model.channel_multiple must be in [1, 64], got {self.channel_multiple}"
            )
        if self.channels_last not in (True, False, "auto"):
            raise ValueError(
                f'model.channels_last must be true, false or "auto", got {self.channels_last!r}'
            )
        self.check_mixstyle()

    def uses_channels_last(self, precision: str) -> bool:
        """Whether a network run in `precision` ("fp32" or "bf16") is kept channels-last."""
        return precision == "bf16" if self.channels_last == "auto" else self.channels_last

    def check_mixstyle(self) -> None:
        if not 0 <= self.mixstyle_p <= 1:
            raise ValueError(f"model.mixstyle_p must be in [0, 1], got {self.mixstyle_p}")
        if self.mixstyle_alpha <= 0:
            raise ValueError(f"model.mixstyle_alpha must be > 0, got {self.mixstyle_alpha}")
        if self.mixstyle_mix not in MIX_RULES:
            known = ", ".join(MIX_RULES)
            raise ValueError(f"model.mixstyle_mix {self.mixstyle_mix!r} unknown; known: {known}")
        blocks = self.mixstyle_blocks
        unknown = [b for b in blocks if b not in MIXSTYLE_BLOCKS]
        if unknown or not blocks or len(set(blocks)) < len(blocks):
            raise ValueError(
                f"model.mixstyle_after {self.mixstyle_after!r} must name distinct blocks of F "
                f'from {", ".join(MIXSTYLE_BLOCKS)}, comma-separated (e.g. "block1,block2")'
            )

    @property
    def mixstyle_blocks(self) -> tuple[str, ...]:
        return tuple(b.strip() for b in self.mixstyle_after.split(",") if b.strip())

    @property
    def depth_size(self) -> int:
        return self.input_size // 8

    def channels(self, paper_channels: int) -> int:
        """The paper's channel count scaled by `width`, rounded to `channel_multiple`."""
        multiple = self.channel_multiple
        return max(4, multiple, multiple * round(paper_channels * self.width / multiple))


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1, bias=True),
        DomainBatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def conv_block(in_channels: int, c: DepthNetConfig) -> nn.Sequential:
    """conv 128 -> conv 196 -> conv 128 -> MaxPool 2 (channels scaled by the width)."""
    return nn.Sequential(
        conv_bn_relu(in_channels, c.channels(128)),
        conv_bn_relu(c.channels(128), c.channels(196)),
        conv_bn_relu(c.channels(196), c.channels(128)),
        nn.MaxPool2d(2),
    )


class FeatureExtractor(nn.Module):
    """theta_F: the shared feature extractor."""

    def __init__(self, c: DepthNetConfig):
        super().__init__()
        self.colour = ColourInput(c.colour_space)
        self.stem = conv_bn_relu(self.colour.channels, c.channels(64))
        self.block1 = conv_block(c.channels(64), c)
        self.block2 = conv_block(c.channels(128), c)
        self.block3 = conv_block(c.channels(128), c)
        self.out_channels = c.channels(128)
        # Empty when off; MixStyle has no parameters or buffers, so the state dict is the same.
        self.mixstyle = nn.ModuleDict(
            {
                block: MixStyle(c.mixstyle_p, c.mixstyle_alpha, c.mixstyle_mix)
                for block in (c.mixstyle_blocks if c.mixstyle else ())
            }
        )

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (features for M, multi-scale features for D) from an RGB batch in [0, 1]."""
        x0 = self.mix("stem", self.stem(self.colour(rgb)))  # (B, 64, S, S)
        x1 = self.mix("block1", self.block1(x0))  # (B, 128, S/2, S/2)
        x2 = self.mix("block2", self.block2(x1))  # (B, 128, S/4, S/4)
        x3 = self.mix("block3", self.block3(x2))  # (B, 128, S/8, S/8)
        size = x3.shape[-2:]
        pooled = [nnf.adaptive_avg_pool2d(x, size) for x in (x1, x2)]
        return x3, torch.cat([*pooled, x3], dim=1)  # (B, 384, S/8, S/8)

    def mix(self, block: str, x: torch.Tensor) -> torch.Tensor:
        """MixStyle after `block` where the config puts one (the mixed map feeds D too)."""
        return self.mixstyle[block](x) if block in self.mixstyle else x


class DepthEstimator(nn.Module):
    """theta_D: regresses the face depth map (the domain-knowledge regularizer)."""

    def __init__(self, c: DepthNetConfig):
        super().__init__()
        self.layers = nn.Sequential(
            conv_bn_relu(3 * c.channels(128), c.channels(128)),
            conv_bn_relu(c.channels(128), c.channels(64)),
            conv_bn_relu(c.channels(64), 1),
        )

    def forward(self, depth_features: torch.Tensor) -> torch.Tensor:
        return self.layers(depth_features)  # (B, 1, S/8, S/8)


class MetaLearner(nn.Module):
    """theta_M: the live/spoof classifier adapted in the inner loop; returns one logit.

    It always computes in fp32, also under bf16 autocast: RFM's inner step theta_M - alpha *
    grad (alpha = 1e-3) changes a weight by far less than bf16's 8-bit mantissa resolves, so
    casting the adapted weights to bf16 would round most of them back to theta_M and erase the
    meta-gradient. M is under 1 % of a step's FLOPs (benchmarks/precision.py).
    """

    def __init__(self, c: DepthNetConfig):
        super().__init__()
        self.layers = nn.Sequential(
            conv_bn_relu(c.channels(128), c.channels(128)),
            nn.MaxPool2d(2),
            conv_bn_relu(c.channels(128), c.channels(256)),
            nn.MaxPool2d(2),
            conv_bn_relu(c.channels(256), c.channels(512)),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(c.channels(512), 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.embed(features)[1]  # (B,) logits, 1 = live

    def embed(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """M's pooled embedding (B, C) and its logit (B,), both in fp32."""
        with fp32_region(features.device.type):
            features = features.to(self.head.weight.dtype)  # bf16 from F under autocast
            embedding = self.layers(features)
            return embedding, self.head(embedding).squeeze(1)


class DepthNet(nn.Module):
    """F, D and M together, Xavier-initialised."""

    def __init__(self, config: DepthNetConfig, precision: str = "fp32"):
        """`precision` (what the run's train.precision resolved to) settles channels_last
        "auto"; it changes nothing else here."""
        super().__init__()
        self.config = config
        self.feature_extractor = FeatureExtractor(config)
        self.depth_estimator = DepthEstimator(config)
        self.meta_learner = MetaLearner(config)
        self.apply(xavier_init)
        self.channels_last = config.uses_channels_last(precision)
        if self.channels_last:
            # Convolutions follow their weights' order, so the activations become NHWC at the
            # first one; the HSV conversion before it still runs on the contiguous input.
            self.to(memory_format=torch.channels_last)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Live probability per image: F then M then sigmoid, (B, 3, S, S) -> (B,)."""
        features, _ = self.feature_extractor(rgb)
        return torch.sigmoid(self.meta_learner(features))


def fp32_region(device_type: str):
    """Autocast switched off inside the block where it is on (a no-op otherwise, so that
    exported graphs hold no autocast nodes)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return nullcontext()


def xavier_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
