"""The unit of data a method sees: one domain's images with their labels and depth targets."""

from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """Frames of one source domain.

    Attributes:
        image: RGB, (B, 3, S, S): uint8 from the loader (0-255), float in [0, 1] on the device.
        depth: depth target in [0, 1], (B, 1, S/8, S/8); all zero for spoofs.
        label: 1.0 = live, 0.0 = spoof, (B,) float.
        domain: the domain's name.
        video_id: the video each frame comes from, length B.
    """

    image: torch.Tensor
    depth: torch.Tensor
    label: torch.Tensor
    domain: str
    video_id: tuple[str, ...]

    def to(self, device: torch.device | str) -> "Batch":
        """Move to `device`; uint8 images become float in [0, 1] there, not on the host."""
        move = dict(device=device, non_blocking=True)
        return self._replace(
            image=unit_float(self.image.to(**move)),
            depth=self.depth.to(**move),
            label=self.label.to(**move),
        )


def unit_float(image: torch.Tensor) -> torch.Tensor:
    """uint8 0-255 to float32 in [0, 1]; float images pass through. Keeps the memory format."""
    return image.float().div_(255) if image.dtype == torch.uint8 else image
