"""Tests for metafas.media: hostile images and videos, all generated in tmp_path."""

from __future__ import annotations

import io
import logging
import pickle
import struct
import warnings
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from metafas.media import (
    FrameSampling,
    InputError,
    is_image,
    is_video,
    probe_video,
    read_frames,
    read_image,
    write_video,
)
from metafas.media.sampling import evenly_spaced

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} absent")
tmp_ok = settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# ---------------------------------------------------------------- helpers


def save(tmp_path: Path, name: str, image: Image.Image, fmt: str, **options) -> Path:
    path = tmp_path / name
    image.save(path, format=fmt, **options)
    return path


def noise_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, so headers can lie and depths can be 16 bit."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def numbered_frames(count: int, size: int = 32, noise: int = 0) -> list[np.ndarray]:
    """Frame i has mean brightness 16 * i + 8 (plus optional zero-mean noise)."""
    rng = np.random.default_rng(0)
    frames = []
    for index in range(count):
        jitter = rng.integers(-noise, noise + 1, (size, size, 3))
        frames.append(np.clip(16 * index + 8 + jitter, 0, 255).astype(np.uint8))
    return frames


def frame_number(rgb: np.ndarray) -> int:
    return int(round((float(rgb.mean()) - 8) / 16))


def check_numbered(frames: list[tuple[int, np.ndarray]], size: int = 32) -> list[int]:
    """Assert each frame's content matches its index; return the indices."""
    for index, rgb in frames:
        assert rgb.dtype == np.uint8 and rgb.shape == (size, size, 3)
        assert frame_number(rgb) == index
    return [index for index, _ in frames]


def write_audio(path: Path, empty_video_track: bool = False) -> Path:
    """Audio packets only; optionally a declared video track that never gets a frame."""
    with av.open(str(path), mode="w") as container:
        if empty_video_track:
            video = container.add_stream("libx264", rate=10)
            video.width = video.height = 32
        audio = container.add_stream("aac", rate=8000)
        for index in range(4):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, index * 1024
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def write_streamless(path: Path) -> Path:
    """An mp4 whose only video track got no frames: FFmpeg writes no track at all."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 32
        container.start_encoding()
    return path


def reason_of(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)  # generators raise on first iteration
    return info.value.reason


# ---------------------------------------------------------------- images


def test_png_roundtrip_is_exact(tmp_path):
    rgb = noise_rgb(17, 23)
    out = read_image(save(tmp_path, "a.png", Image.fromarray(rgb), "PNG"))
    assert out.dtype == np.uint8 and np.array_equal(out, rgb)


def test_content_decides_not_extension(tmp_path):
    rgb = noise_rgb(8, 8)
    assert np.array_equal(read_image(save(tmp_path, "png.jpg", Image.fromarray(rgb), "PNG")), rgb)
    text = tmp_path / "text.jpg"
    text.write_text("hello, not a picture\n" * 20)
    assert reason_of(read_image, text) == "not an image"
    assert reason_of(read_frames, text, FrameSampling(every=1)) == "not an image"


@pytest.mark.parametrize("name", ["a.jpg", "a.mp4", "a.bin"])
def test_zero_bytes(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    assert reason_of(read_image, tmp_path / name) == "zero bytes"
    assert reason_of(read_frames, tmp_path / name, FrameSampling(count=2)) == "zero bytes"
    assert reason_of(probe_video, tmp_path / name) == "zero bytes"


def test_missing_file_and_directory(tmp_path):
    assert reason_of(read_image, tmp_path / "nope.png") == "no such file"
    assert "not a regular file" in reason_of(read_image, tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image(tmp_path, fmt):
    data = io.BytesIO()
    Image.fromarray(noise_rgb(64, 64)).save(data, format=fmt)
    path = tmp_path / "cut.img"
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    assert reason_of(read_image, path) == f"truncated {fmt}"


def test_truncated_jpeg_refused_even_when_pil_allows(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = save(tmp_path, "a.jpg", Image.fromarray(noise_rgb(64, 64)), "JPEG")
    path.write_bytes(path.read_bytes()[:-500])
    assert reason_of(read_image, path) == "truncated JPEG"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


def test_mode_conversions(tmp_path):
    gray = np.array([[0, 100], [200, 255]], np.uint8)
    assert np.array_equal(
        read_image(save(tmp_path, "l.png", Image.fromarray(gray), "PNG"))[..., 1], gray
    )
    bits = Image.fromarray(gray > 128).convert("1")
    assert set(np.unique(read_image(save(tmp_path, "1.png", bits, "PNG")))) == {0, 255}
    palette = Image.fromarray(gray).convert("P")
    assert read_image(save(tmp_path, "p.png", palette, "PNG")).shape == (2, 2, 3)


def test_alpha_is_composited_on_black(tmp_path):
    rgba = np.array([[[200, 100, 50, 255], [200, 100, 50, 128], [200, 100, 50, 0]]], np.uint8)
    out = read_image(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out.tolist() == [[[200, 100, 50], [100, 50, 25], [0, 0, 0]]]
    la = Image.fromarray(rgba[..., [0, 3]], "LA")
    assert read_image(save(tmp_path, "la.png", la, "PNG"))[0, :, 0].tolist() == [200, 100, 0]


def test_16_bit_gray_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 1000, 32768, 65535]], np.uint16)
    path = save(tmp_path, "g16.png", Image.fromarray(values), "PNG")
    assert Image.open(path).mode == "I;16"
    assert read_image(path)[0, :, 0].tolist() == [0, 1, 4, 128, 255]


def test_16_bit_rgb_png_is_scaled(tmp_path):
    values = np.array([[[0, 1000, 32768], [33023, 60000, 65535]]], np.uint16)  # (1, 2, 3)
    path = tmp_path / "rgb16.png"
    path.write_bytes(png_bytes(2, 1, 16, 2, b"\x00" + values.astype(">u2").tobytes()))
    expected = np.rint(values.astype(float) * 255 / 65535)  # Pillow keeps the high byte
    assert np.abs(read_image(path).astype(int) - expected).max() <= 1


def test_float_tiff_is_scaled(tmp_path):
    values = np.array([[0.0, 0.5, 1.0]], np.float32)
    out = read_image(save(tmp_path, "f.tif", Image.fromarray(values, "F"), "TIFF"))
    assert out[0, :, 0].tolist() == [0, 128, 255]


def test_cmyk_jpeg(tmp_path):
    cmyk = np.zeros((16, 32, 4), np.uint8)
    cmyk[:, 16:, 0] = 255  # right half pure cyan
    out = read_image(save(tmp_path, "c.jpg", Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95))
    assert np.abs(out[8, 4].astype(int) - [255, 255, 255]).max() < 10
    assert np.abs(out[8, 28].astype(int) - [0, 255, 255]).max() < 10


def test_exif_orientation_6_rotates_right(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)  # H=20, W=40
    stored[:10, :20] = (255, 0, 0)  # red top-left
    stored[10:, 20:] = (0, 0, 255)  # blue bottom-right
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path, "r.jpg", Image.fromarray(stored), "JPEG", quality=95, exif=exif)
    out = read_image(path)
    assert out.shape == (40, 20, 3)
    assert np.abs(out.astype(int) - np.rot90(stored, k=-1)).mean() < 4  # clockwise


def test_bomb_header_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(50_000, 50_000, 8, 2, b"\x00" * 10))
    assert reason_of(read_image, path).startswith("image too large")
    assert reason_of(read_frames, path, FrameSampling(every=1)).startswith("image too large")


def test_max_pixels_reason(tmp_path):
    path = save(tmp_path, "a.png", Image.fromarray(noise_rgb(100, 100)), "PNG")
    assert reason_of(read_image, path, max_pixels=1000) == (
        "image too large: 100x100 pixels (limit 1000)"
    )


def test_pil_bomb_error_and_warning_are_wrapped(tmp_path, monkeypatch):
    path = save(tmp_path, "a.png", Image.fromarray(noise_rgb(100, 100)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10000 > 2 * limit: error
    assert reason_of(read_image, path).startswith("image too large: DecompressionBombError")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # between limit and 2x: warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert "DecompressionBombWarning" in reason_of(read_image, path)


def test_risky_pil_formats_are_not_decoded(tmp_path):
    eps = tmp_path / "a.eps"
    eps.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    assert reason_of(read_image, eps) == "not an image"


def test_input_error_pickles_and_reads_well(tmp_path):
    error = pickle.loads(pickle.dumps(InputError(tmp_path / "x.jpg", "truncated JPEG")))
    assert (error.path, error.reason) == (tmp_path / "x.jpg", "truncated JPEG")
    assert str(error).endswith("x.jpg: truncated JPEG") and isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("name", "image", "video"),
    [("a.JPG", True, False), ("b.png", True, False), ("c.MP4", False, True),
     ("d.webm", False, True), ("e.txt", False, False), ("noext", False, False)],
)  # fmt: skip
def test_extension_tables(name, image, video):
    assert (is_image(name), is_video(name)) == (image, video)


# ---------------------------------------------------------------- image properties

MODES_BY_FORMAT = {
    "PNG": ["1", "L", "P", "RGB", "RGBA", "LA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK"],
    "BMP": ["1", "L", "P", "RGB"],
    "TIFF": ["1", "L", "RGB", "RGBA", "CMYK", "I;16", "F"],
    "WEBP": ["RGB", "RGBA"],
    "GIF": ["L", "P"],
}
format_and_mode = st.sampled_from(
    [(fmt, mode) for fmt, modes in MODES_BY_FORMAT.items() for mode in modes]
)


@tmp_ok
@given(format_and_mode, st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_valid_images_come_back_rgb(tmp_path, fmt_mode, width, height, seed):
    fmt, mode = fmt_mode
    image = Image.fromarray(noise_rgb(height, width, seed)).convert(mode if mode != "I;16" else "L")
    image = image.convert("I;16") if mode == "I;16" else image
    out = read_image(save(tmp_path, "x.any", image, fmt))
    assert out.dtype == np.uint8 and out.shape == (height, width, 3)


def mutated(data: bytes, cut: float, flips: list[tuple[float, int]]) -> bytes:
    blob = bytearray(data[: max(1, int(len(data) * cut))])
    for where, value in flips:
        blob[int(where * (len(blob) - 1))] = value
    return bytes(blob)


def rgb_or_input_error(path: Path) -> None:
    """Every reader either returns uint8 RGB frames or raises InputError, nothing else."""
    readers = (
        lambda p: [read_image(p)],
        lambda p: [rgb for _, rgb in read_frames(p, FrameSampling(count=3))],
    )
    for reader in readers:
        try:
            frames = reader(path)
        except InputError:
            continue
        assert all(rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 for rgb in frames)
    try:
        assert probe_video(path).frames >= 0
    except InputError:
        pass


@tmp_ok
@given(
    format_and_mode,
    st.floats(0, 1),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_damaged_images_raise_only_input_error(tmp_path, fmt_mode, cut, flips):
    fmt, mode = fmt_mode
    data = io.BytesIO()
    Image.fromarray(noise_rgb(24, 24)).convert("L" if mode == "I;16" else mode).save(data, fmt)
    path = tmp_path / "damaged.jpg"
    path.write_bytes(mutated(data.getvalue(), cut, flips))
    rgb_or_input_error(path)


@tmp_ok
@given(st.binary(max_size=400), st.sampled_from(["x.jpg", "x.mp4", "x.bin"]))
def test_random_bytes_raise_only_input_error(tmp_path, data, name):
    (tmp_path / name).write_bytes(data)
    rgb_or_input_error(tmp_path / name)


@pytest.fixture(scope="module")
def small_videos(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    made = [
        write_video(folder / name, numbered_frames(6), codec=codec)
        for name, codec in [("s.mp4", "libx264"), ("s.mkv", "libvpx-vp9"), ("s.avi", "mpeg4")]
    ]
    return [path.read_bytes() for path in made]


@tmp_ok
@given(
    st.integers(0, 2),
    st.floats(0, 1),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6),
    st.sampled_from(["x.mp4", "x.bin"]),
)
def test_damaged_videos_raise_only_input_error(tmp_path, small_videos, seed, cut, flips, name):
    (tmp_path / name).write_bytes(mutated(small_videos[seed], cut, flips))
    rgb_or_input_error(tmp_path / name)


# ---------------------------------------------------------------- sampling


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"every": 2, "count": 3}, {"every": 0}, {"count": -1}, {"every": True},
     {"indices": ()}, {"indices": (1, -2)}, {"every": 2.5}],
)  # fmt: skip
def test_frame_sampling_validation(kwargs):
    with pytest.raises(ValueError):
        FrameSampling(**kwargs)


def test_frame_sampling_parse():
    assert FrameSampling.parse("every:5") == FrameSampling(every=5)
    assert FrameSampling.parse(" COUNT:8 ") == FrameSampling(count=8)
    assert FrameSampling.parse("indices:10,0,5,5").indices == (0, 5, 10)
    for bad in ["", "every", "every:", "every:x", "stride:2", "count:0", "indices:1,,2"]:
        with pytest.raises(ValueError, match="expected 'every:K'"):
            FrameSampling.parse(bad)


sampling_strategy = st.one_of(
    st.builds(FrameSampling, every=st.integers(1, 10**6)),
    st.builds(FrameSampling, count=st.integers(1, 10**6)),
    st.builds(FrameSampling, indices=st.lists(st.integers(0, 10**6), min_size=1).map(tuple)),
)


@given(sampling_strategy)
def test_frame_sampling_str_roundtrip(sampling):
    assert FrameSampling.parse(str(sampling)) == sampling


@given(st.integers(0, 10_000), st.integers(1, 500))
def test_evenly_spaced(total, count):
    picks = evenly_spaced(total, count)
    assert len(picks) == min(total, count)
    assert list(picks) == sorted(set(picks)) and all(0 <= p < total for p in picks)


# ---------------------------------------------------------------- videos


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "n.mp4", numbered_frames(16))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("every:5", [0, 5, 10, 15]), ("every:1", list(range(16))), ("count:4", [2, 6, 10, 14]),
     ("count:40", list(range(16))), ("indices:3,0,15", [0, 3, 15])],
)  # fmt: skip
def test_video_sampling(mp4, spec, expected):
    assert check_numbered(list(read_frames(mp4, FrameSampling.parse(spec)))) == expected


def test_indices_beyond_end_warn(mp4, caplog):
    frames = list(read_frames(mp4, FrameSampling(indices=(1, 99))))
    assert check_numbered(frames) == [1] and "beyond the end: [99]" in caplog.text


@pytest.mark.parametrize(
    ("name", "codec"),
    [("a.mov", "libx264"), ("a.mkv", "libx264"), ("a.webm", "libvpx"), ("a.avi", "mpeg4")],
)
def test_containers_count_sampling(tmp_path, name, codec):
    path = write_video(tmp_path / name, numbered_frames(16), codec=codec)
    assert check_numbered(list(read_frames(path, FrameSampling(count=4)))) == [2, 6, 10, 14]


def test_variable_frame_rate_samples_by_decode_order(tmp_path):
    stamps = [0, 10, 15, 100, 101, 300, 310, 320, 400, 900, 901, 902, 1000, 1500, 1600, 1601]
    path = write_video(tmp_path / "vfr.mp4", numbered_frames(16), timestamps_ms=stamps)
    assert check_numbered(list(read_frames(path, FrameSampling(every=1)))) == list(range(16))
    assert check_numbered(list(read_frames(path, FrameSampling(count=4)))) == [2, 6, 10, 14]


@pytest.fixture(scope="module")
def truncated_mp4(tmp_path_factory) -> Path:
    frames = numbered_frames(16, size=64, noise=6)
    path = write_video(tmp_path_factory.mktemp("t") / "t.mp4", frames, codec_options={"g": "1"})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def test_truncated_video_yields_what_decodes(truncated_mp4, caplog):
    with caplog.at_level(logging.WARNING):
        indices = check_numbered(list(read_frames(truncated_mp4, FrameSampling(every=1))), 64)
    assert 0 < len(indices) < 16 and indices == list(range(len(indices)))
    assert "truncated" in caplog.text and "header lists 16 frames" in caplog.text
    counted = check_numbered(list(read_frames(truncated_mp4, FrameSampling(count=3))), 64)
    assert counted == list(evenly_spaced(len(indices), 3))


@pytest.mark.parametrize("keep", [40, 200, 500])
def test_video_cut_inside_header_is_input_error(tmp_path, keep):
    path = write_video(tmp_path / "cut.mp4", numbered_frames(16))  # header (moov) first
    path.write_bytes(path.read_bytes()[:keep])
    assert reason_of(read_frames, path, FrameSampling(count=2))  # raised, with a reason


def test_no_video_stream(tmp_path):
    audio = write_audio(tmp_path / "a.m4a")
    assert reason_of(read_frames, audio, FrameSampling(every=1)) == "no video stream (found: audio)"
    assert reason_of(probe_video, audio) == "no video stream (found: audio)"
    empty = write_streamless(tmp_path / "e.mp4")
    assert reason_of(read_frames, empty, FrameSampling(count=2)).startswith("no video stream")


def test_zero_frame_video(tmp_path):
    path = write_audio(tmp_path / "z.mkv", empty_video_track=True)
    for spec in ["every:1", "count:3", "indices:0"]:
        assert reason_of(read_frames, path, FrameSampling.parse(spec)) == "zero-frame video"


def test_corrupt_header_and_unknown_format(tmp_path):
    garbage = tmp_path / "g.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 4)
    assert reason_of(read_frames, garbage, FrameSampling(every=1)).startswith(
        "corrupt or unreadable video: InvalidDataError"
    )
    playlist = tmp_path / "list.m3u8"  # FFmpeg would follow it to another file: refused
    video = write_video(tmp_path / "v.mp4", numbered_frames(2))
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{video}\n#EXT-X-ENDLIST\n")
    assert reason_of(read_frames, playlist, FrameSampling(every=1)).startswith(
        "unsupported format: .m3u8"
    )
    text = tmp_path / "notes.txt"
    text.write_text("just words\n" * 50)
    assert reason_of(read_frames, text, FrameSampling(every=1)).startswith(
        "unsupported format: .txt"
    )


def test_video_max_pixels(mp4):
    reason = reason_of(read_frames, mp4, FrameSampling(every=1), max_pixels=100)
    assert reason == "video frame too large: 32x32 pixels (limit 100)"


def quadrants(height: int, width: int) -> np.ndarray:
    """Four distinct flat colours, so every rotation and mirror is distinguishable."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[: height // 2, : width // 2] = (250, 20, 20)
    rgb[: height // 2, width // 2 :] = (20, 250, 20)
    rgb[height // 2 :, : width // 2] = (20, 20, 250)
    rgb[height // 2 :, width // 2 :] = (250, 250, 250)
    return rgb


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("rotation", [0, 90, 180, -90])
def test_display_matrix_makes_frames_upright(tmp_path, rotation, mirror):
    coded = quadrants(32, 64)
    path = write_video(tmp_path / "r.mp4", [coded] * 2, rotation=rotation, mirror=mirror)
    expected = np.rot90(coded, k=rotation // 90)  # counter-clockwise, as PyAV documents
    expected = expected[:, ::-1] if mirror else expected  # mirror after rotating
    (_, out), _ = read_frames(path, FrameSampling(every=1))
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).mean() < 6
    if not mirror:
        info = probe_video(path)
        assert info.rotation % 360 == rotation % 360
        assert info.upright_size == (out.shape[1], out.shape[0])


def test_probe_video(tmp_path, mp4):
    info = probe_video(mp4)
    assert (info.frames, info.frames_estimated, info.width, info.height) == (16, False, 32, 32)
    assert info.fps == 10 and info.duration == pytest.approx(1.6) and info.rotation == 0
    assert info.codec == "h264"
    webm = probe_video(write_video(tmp_path / "a.webm", numbered_frames(16), codec="libvpx"))
    assert webm.frames_estimated and webm.frames == 16


def test_probe_image_describes_a_one_frame_video(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path, "p.jpg", Image.fromarray(noise_rgb(20, 40)), "JPEG", exif=exif)
    info = probe_video(path)
    assert (info.frames, info.fps, info.codec, info.rotation) == (1, None, "jpeg", -90)
    assert info.upright_size == (20, 40) == read_image(path).shape[1::-1]


def test_image_is_a_one_frame_video(tmp_path, caplog):
    path = save(tmp_path, "still.png", Image.fromarray(noise_rgb(12, 10)), "PNG")
    ((index, rgb),) = read_frames(path, FrameSampling(count=8))
    assert index == 0 and rgb.shape == (12, 10, 3)
    assert list(read_frames(path, FrameSampling(indices=(3,)))) == []
    assert "beyond the end: [3]" in caplog.text


# ---------------------------------------------------------------- real files


@pytest.mark.data
@needs_realdata
def test_real_photos_with_exif_orientation():
    folder = REALDATA / "silentface_samples"
    for name in ["spoof/image_F1.jpg", "spoof/image_F2.jpg", "live/image_T1.jpg"]:
        assert read_image(folder / name).shape == (640, 480, 3)  # stored 640x480, orientation 6
    assert read_image(folder / "live/image_T2.jpg").shape == (2160, 1617, 3)


@pytest.mark.data
@needs_realdata
def test_real_phone_videos():
    live = REALDATA / "zalo2022_sample" / "live" / "2.mp4"
    info = probe_video(live)
    assert (info.width, info.height, info.frames, info.rotation) == (1080, 1920, 121, 0)
    frames = list(read_frames(live, FrameSampling(indices=(0, 30))))
    assert [i for i, _ in frames] == [0, 30] and frames[0][1].shape == (1920, 1080, 3)
    spoof = list(read_frames(REALDATA / "zalo2022_sample/spoof/1.mp4", FrameSampling(count=4)))
    assert [i for i, _ in spoof] == list(evenly_spaced(126, 4))
    assert all(rgb.shape == (852, 480, 3) and rgb.std() > 5 for _, rgb in spoof)
