"""Robust reading of images and videos into upright uint8 RGB frames (for prepare and predict)."""

from metafas.media.errors import InputError
from metafas.media.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_image, is_video
from metafas.media.frames import read_frames
from metafas.media.image import decodable_image_extensions, read_image
from metafas.media.limits import DEFAULT_MAX_PIXELS, MAX_SIDE
from metafas.media.probe import VideoInfo, probe_video
from metafas.media.sampling import FrameSampling
from metafas.media.writing import write_video

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "MAX_SIDE",
    "VIDEO_EXTENSIONS",
    "FrameSampling",
    "InputError",
    "VideoInfo",
    "decodable_image_extensions",
    "is_image",
    "is_video",
    "probe_video",
    "read_frames",
    "read_image",
    "write_video",
]
