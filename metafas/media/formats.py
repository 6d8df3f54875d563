"""Extension tables for scanning folders, and the image formats we agree to decode."""

from __future__ import annotations

import os
from pathlib import Path

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp",
        ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".avif", ".heic", ".heif",
    }
)  # fmt: skip
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
        ".3gp", ".ts", ".mts", ".m2ts", ".ogv",
    }
)  # fmt: skip

# Pillow decoders we let run on untrusted files (JPEG covers multi-picture MPO too). Pillow also
# knows EPS (which runs Ghostscript) and a dozen rarely used formats with a history of decoder
# bugs; keep them out.
PIL_FORMATS: tuple[str, ...] = (
    "JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "TGA", "JPEG2000",
    "AVIF", "HEIF",
)  # fmt: skip

# FFmpeg demuxers we let open untrusted files (passed as `format_whitelist`). FFmpeg probes by
# content and would otherwise render a .txt file as video (tty demuxer) or follow an HLS playlist
# to other files. Audio containers are listed so that they fail with "no video stream".
VIDEO_DEMUXERS: tuple[str, ...] = (
    "mov", "matroska", "avi", "mpeg", "mpegts", "flv", "asf", "ogg", "mpegvideo", "h264",
    "hevc", "m4v", "ivf", "mp3", "wav", "flac", "aac",
)  # fmt: skip

# Formats worth a hint when Pillow cannot identify them: the plugin that adds them.
PLUGIN_HINTS: dict[str, str] = {
    ".heic": "HEIC needs the pillow-heif plugin (pip install pillow-heif)",
    ".heif": "HEIF needs the pillow-heif plugin (pip install pillow-heif)",
}


def is_image(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has an image extension (for scanning folders; content may differ)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has a video extension (for scanning folders; content may differ)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
