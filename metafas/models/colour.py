"""Colour-space conversion on batched tensors, done on the device inside the network input."""

import torch
from torch import nn

COLOUR_SPACES = {"rgb": 3, "rgb+hsv": 6}


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """Convert RGB in [0, 1] to HSV in [0, 1], channel-first: (B, 3, H, W) -> (B, 3, H, W).

    Hue is scaled from degrees to [0, 1) like OpenCV's float conversion divided by 360, so the
    six input channels share one range and need no mean/std normalisation (as in the paper).
    """
    r, g, b = rgb.unbind(dim=1)
    value, argmax = rgb.max(dim=1)
    chroma = value - rgb.min(dim=1).values
    safe_chroma = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    hue_r = ((g - b) / safe_chroma) % 6
    hue_g = (b - r) / safe_chroma + 2
    hue_b = (r - g) / safe_chroma + 4
    hue = torch.where(argmax == 0, hue_r, torch.where(argmax == 1, hue_g, hue_b)) / 6
    hue = torch.where(chroma > 0, hue, torch.zeros_like(hue))
    safe_value = torch.where(value > 0, value, torch.ones_like(value))
    saturation = torch.where(value > 0, chroma / safe_value, torch.zeros_like(value))
    return torch.stack([hue, saturation, value], dim=1)


class ColourInput(nn.Module):
    """Turns an RGB batch in [0, 1] into the network's input colour space."""

    def __init__(self, colour_space: str):
        super().__init__()
        if colour_space not in COLOUR_SPACES:
            known = ", ".join(COLOUR_SPACES)
            raise ValueError(f"unknown colour_space {colour_space!r}; known: {known}")
        self.colour_space = colour_space

    @property
    def channels(self) -> int:
        return COLOUR_SPACES[self.colour_space]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if self.colour_space == "rgb":
            return rgb
        return torch.cat([rgb, rgb_to_hsv(rgb)], dim=1)  # (B, 6, H, W)
