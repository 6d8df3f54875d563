"""Tests for metafas.faces: alignment, crops, NoFaceError reasons and mesh pseudo-depth on
synthetic faces; the real MediaPipe detector on real photos when available."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from metafas.faces import (
    CropSettings,
    CropTransform,
    Face,
    NoFaceError,
    alignment_transform,
    box_depth,
    crop_face,
    face_depth,
    mediapipe_detector,
    mesh_depth,
)
from metafas.faces.mediapipe_detector import mesh_face_box

SKIN, BACKGROUND = (220, 180, 150), (100, 100, 100)
EYE_OFFSET = (0.2, -0.12)  # eye centre from the face centre, in face sides (upright face)
MOUTH_OFFSET = 0.25


def _rotate(offset: tuple[float, float], roll: float) -> np.ndarray:
    """Rotate an (x, y) offset by `roll` degrees (clockwise on screen, y pointing down)."""
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    return np.array([c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]])


def _ellipse(centre, radii, roll, n=64) -> list[tuple[float, float]]:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [
        tuple(centre + _rotate((radii[0] * math.cos(a), radii[1] * math.sin(a)), roll))
        for a in angles
    ]


def synthetic_face(
    shape=(400, 400), centre=(200.0, 200.0), side=150.0, roll=0.0, scale=1.0
) -> tuple[np.ndarray, Face]:
    """A drawn face (skin ellipse, two black eyes, a black mouth) and its exact Face.

    `scale` draws the same scene at a higher resolution.
    """
    height, width = shape
    image = Image.new("RGB", (round(width * scale), round(height * scale)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    centre = np.array(centre) * scale
    s = side * scale
    draw.polygon(_ellipse(centre, (0.4 * s, 0.5 * s), roll), fill=SKIN)
    eyes = [centre + _rotate((dx * EYE_OFFSET[0] * s, EYE_OFFSET[1] * s), roll) for dx in (-1, 1)]
    for eye in eyes:
        draw.polygon(_ellipse(eye, (0.05 * s, 0.05 * s), roll), fill=(0, 0, 0))
    mouth = centre + _rotate((0.0, MOUTH_OFFSET * s), roll)
    draw.polygon(_ellipse(mouth, (0.12 * s, 0.04 * s), roll), fill=(0, 0, 0))
    box = (centre[0] - s / 2, centre[1] - s / 2, centre[0] + s / 2, centre[1] + s / 2)
    face = Face(box, 0.9, tuple(eyes[0]), tuple(eyes[1]))
    return np.asarray(image), face


def fixed(*faces: Face):
    """A fake FaceDetector returning the given faces."""
    return lambda image: list(faces)


def _dark_centroids(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids of the dark pixels: left eye, right eye (upper half), mouth (lower half)."""
    ys, xs = np.nonzero(crop.max(axis=2) < 50)
    half = crop.shape[0] / 2
    upper, lower = ys < half, ys >= half
    left, right = upper & (xs < half), upper & (xs >= half)
    return tuple(np.array([xs[m].mean(), ys[m].mean()]) + 0.5 for m in (left, right, lower))


@pytest.mark.parametrize("roll", [0.0, 25.0, -40.0, 90.0, 180.0])
def test_crop_levels_the_eyes_at_the_expected_positions(roll: float) -> None:
    image, face = synthetic_face(roll=roll)
    settings = CropSettings(size=128, margin=0.4)
    crop = crop_face(image, fixed(face), settings)
    left, right, mouth = _dark_centroids(crop.image)
    unit = settings.size / (1 + settings.margin)  # crop pixels per face side
    expected_y = settings.size / 2 + EYE_OFFSET[1] * unit
    np.testing.assert_allclose(
        left, [settings.size / 2 - EYE_OFFSET[0] * unit, expected_y], atol=1.0
    )
    np.testing.assert_allclose(
        right, [settings.size / 2 + EYE_OFFSET[0] * unit, expected_y], atol=1.0
    )
    assert mouth[1] == pytest.approx(settings.size / 2 + MOUTH_OFFSET * unit, abs=1.0)


@pytest.mark.parametrize("roll", [0.0, 33.0, -150.0])
def test_transform_maps_the_eyes_onto_one_row(roll: float) -> None:
    _, face = synthetic_face(roll=roll)
    transform = alignment_transform(face, CropSettings(size=100, margin=0.0))
    left, right = transform.apply(np.array([face.left_eye, face.right_eye]))
    np.testing.assert_allclose(left, [50 - 20, 50 - 12], atol=1e-9)
    np.testing.assert_allclose(right, [50 + 20, 50 - 12], atol=1e-9)


def test_quarter_turn_resamples_pixels_exactly() -> None:
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    # Eyes on a vertical line, left eye below: the face lies on its side (roll -90 degrees).
    face = Face((0.0, 0.0, 64.0, 64.0), 1.0, (32.0, 50.0), (32.0, 14.0))
    crop = crop_face(image, fixed(face), CropSettings(size=64, margin=0.0))
    expected = np.rot90(image, k=-1)
    assert np.abs(crop.image.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("size", [64, 112, 256])
def test_crop_has_the_requested_size(size: int) -> None:
    image, face = synthetic_face()
    crop = crop_face(image, fixed(face), CropSettings(size=size))
    assert crop.image.shape == (size, size, 3) and crop.image.dtype == np.uint8
    assert crop.transform.size == size and crop.box == face.box and crop.depth is None


def test_margin_scales_the_face_area() -> None:
    image, face = synthetic_face()

    def skin_pixels(margin: float) -> int:
        crop = crop_face(image, fixed(face), CropSettings(size=128, margin=margin)).image
        return int((np.abs(crop.astype(int) - SKIN).sum(axis=2) < 30).sum())

    ratio = skin_pixels(0.2) / skin_pixels(0.8)
    assert ratio == pytest.approx((1.8 / 1.2) ** 2, rel=0.05)


def test_window_outside_the_image_is_black() -> None:
    image, face = synthetic_face(shape=(200, 200), centre=(40.0, 40.0), side=100.0)
    crop = crop_face(image, fixed(face), CropSettings(size=100, margin=0.5)).image
    assert (crop[:10, :10] == 0).all()
    assert (crop[-10:, -10:] == BACKGROUND).all()


def test_large_image_is_box_averaged_like_a_small_one() -> None:
    small, face = synthetic_face()
    large, large_face = synthetic_face(scale=6.0)
    settings = CropSettings(size=64)
    a = crop_face(small, fixed(face), settings).image.astype(float)
    b = crop_face(large, fixed(large_face), settings).image.astype(float)
    assert np.abs(a - b).mean() < 4.0


def test_strong_downscaling_does_not_alias() -> None:
    checkerboard = (np.indices((1200, 1200)).sum(axis=0) % 2 * 255).astype(np.uint8)
    image = np.repeat(checkerboard[:, :, None], 3, axis=2)
    face = Face((0.0, 0.0, 1200.0, 1200.0), 1.0, (400.0, 500.0), (800.0, 500.0))
    crop = crop_face(image, fixed(face), CropSettings(size=64, margin=-0.2)).image
    assert np.abs(crop.astype(float) - 127.5).max() < 8


def test_no_face_raises_with_reason() -> None:
    image, _ = synthetic_face()
    with pytest.raises(NoFaceError) as caught:
        crop_face(image, fixed(), CropSettings())
    assert caught.value.reason == "no face"


def test_low_confidence_raises_with_reason() -> None:
    image, face = synthetic_face()
    weak = Face(face.box, 0.42, face.left_eye, face.right_eye)
    with pytest.raises(NoFaceError) as caught:
        crop_face(image, fixed(weak, face), CropSettings(min_score=0.6))
    assert caught.value.reason == "low confidence 0.42 < 0.6"


def test_only_the_first_face_is_cropped() -> None:
    image, face = synthetic_face()
    _, other = synthetic_face(centre=(100.0, 120.0))
    assert crop_face(image, fixed(face, other), CropSettings()).box == face.box


@pytest.mark.parametrize(
    "kwargs", [{"size": 0}, {"depth_size": -1}, {"margin": -1.0}, {"min_score": 1.5}]
)
def test_settings_reject_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CropSettings(**kwargs)


@pytest.mark.parametrize(
    "image", [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.uint8), [[0, 0, 0]]]
)
def test_crop_rejects_non_rgb_uint8_images(image) -> None:
    _, face = synthetic_face()
    with pytest.raises(ValueError, match="expected"):
        crop_face(image, fixed(face), CropSettings())


def test_face_rejects_bad_box_and_landmarks() -> None:
    with pytest.raises(ValueError, match="box"):
        Face((10.0, 0.0, 5.0, 5.0), 1.0, (0.0, 0.0), (1.0, 0.0))
    with pytest.raises(ValueError, match="landmarks3d"):
        Face((0.0, 0.0, 5.0, 5.0), 1.0, (0.0, 0.0), (1.0, 0.0), np.zeros((4, 2)))


def test_transform_inverse_and_resize() -> None:
    _, face = synthetic_face(roll=17.0)
    transform = alignment_transform(face, CropSettings(size=200))
    points = np.array([[10.0, 20.0], [150.0, 90.0]])
    inverse = transform.inverse()
    back = transform.apply(points) @ inverse[:, :2].T + inverse[:, 2]
    np.testing.assert_allclose(back, points, atol=1e-9)
    small = transform.resized(50)
    np.testing.assert_allclose(small.apply(points), transform.apply(points) / 4, atol=1e-9)
    assert small.size == 50 and isinstance(small, CropTransform)


def hemisphere(centre=(200.0, 200.0), radius=60.0, yaw=0.0, n=600) -> np.ndarray:
    """(n + 64, 3) points on a hemisphere facing the camera (z larger = nearer), with its rim,
    turned by `yaw` degrees about the vertical axis through its centre."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1 - k / n)  # uniform over the cap: cos(polar) uniform in (0, 1]
    azimuth = np.pi * (1 + 5**0.5) * k
    rim = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    polar = np.concatenate([polar, np.full(64, np.pi / 2)])
    azimuth = np.concatenate([azimuth, rim])
    x, y = np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth)
    z = np.cos(polar)
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    x, z = c * x + s * z, -s * x + c * z
    return np.stack([centre[0] + radius * x, centre[1] + radius * y, radius * z], axis=1)


def _meshed(face: Face, marks: np.ndarray) -> Face:
    return Face(face.box, face.score, face.left_eye, face.right_eye, marks)


def _sphere_grid(transform: CropTransform, size: int, centre, radius) -> tuple[np.ndarray, ...]:
    """Per depth-map pixel: x, y offsets from the sphere centre in units of the radius."""
    inverse = transform.resized(size).inverse()
    centres = np.arange(size) + 0.5
    gx, gy = np.meshgrid(centres, centres)
    pixels = np.stack([gx.ravel(), gy.ravel()], axis=1) @ inverse[:, :2].T + inverse[:, 2]
    offsets = (pixels - np.array(centre)) / radius
    return offsets[:, 0].reshape(size, size), offsets[:, 1].reshape(size, size)


@pytest.mark.parametrize("roll", [0.0, 30.0])
def test_mesh_depth_of_a_hemisphere(roll: float) -> None:
    _, face = synthetic_face(roll=roll)
    face = _meshed(face, hemisphere())
    transform = alignment_transform(face, CropSettings(size=128))
    depth = mesh_depth(face, transform, 32, edge=0.1)
    assert depth.shape == (32, 32) and depth.dtype == np.float32
    assert depth.min() >= 0.0 and depth.max() <= 1.0
    row, col = np.unravel_index(depth.argmax(), depth.shape)
    assert abs(row - 15.5) <= 1.5 and abs(col - 15.5) <= 1.5
    x, y = _sphere_grid(transform, 32, (200.0, 200.0), 60.0)
    rho2 = x**2 + y**2
    assert (depth[rho2 > 1.1**2] == 0).all()
    inner = rho2 < 0.9**2
    expected = 0.1 + 0.9 * np.sqrt(np.clip(1 - rho2, 0, None))
    np.testing.assert_allclose(depth[inner], expected[inner], atol=0.05)


def test_mesh_depth_hides_the_far_side_of_a_turned_head() -> None:
    _, face = synthetic_face()
    yaw = 40.0
    face = _meshed(face, hemisphere(yaw=yaw))
    transform = alignment_transform(face, CropSettings(size=128))
    depth = mesh_depth(face, transform, 32, edge=0.1)
    x, y = _sphere_grid(transform, 32, (200.0, 200.0), 60.0)
    z = np.sqrt(np.clip(1 - x**2 - y**2, 0, None))  # the visible sphere surface
    # Keep pixels whose visible point lies well inside the turned cap (axis at +yaw).
    cap_axis = np.array([math.sin(math.radians(yaw)), 0.0, math.cos(math.radians(yaw))])
    on_cap = x * cap_axis[0] + z * cap_axis[2] > 0.2
    visible = on_cap & (x**2 + y**2 < 0.9**2)
    far = -math.sin(math.radians(yaw))  # the rim's farthest point sets the edge value
    expected = 0.1 + 0.9 * (z - far) / (1 - far)
    assert visible.sum() > 100
    np.testing.assert_allclose(depth[visible], expected[visible], atol=0.05)


def test_crop_face_renders_depth_at_depth_size() -> None:
    image, face = synthetic_face(roll=10.0)
    face = _meshed(face, hemisphere())
    crop = crop_face(image, fixed(face), CropSettings(size=96, depth_size=24), depth=mesh_depth)
    assert crop.depth is not None and crop.depth.shape == (24, 24)
    assert crop.depth.max() == pytest.approx(1.0, abs=0.05)


def test_mesh_depth_without_a_mesh_is_no_face() -> None:
    image, face = synthetic_face()
    with pytest.raises(NoFaceError, match="no face mesh"):
        crop_face(image, fixed(face), CropSettings(), depth=mesh_depth)


def test_face_depth_falls_back_to_the_box_template() -> None:
    image, face = synthetic_face()
    crop = crop_face(image, fixed(face), CropSettings(depth_size=16), depth=face_depth)
    assert crop.has_mesh is False and np.array_equal(
        crop.depth, box_depth(face, crop.transform, 16)
    )
    assert crop.depth[8, 8] > 0.95 and crop.depth[0, 0] == 0 and crop.depth.dtype == np.float32
    flat = hemisphere()
    flat[:, 2] = 0.0  # a degenerate mesh gets the template too
    transform = alignment_transform(face, CropSettings())
    assert np.array_equal(face_depth(_meshed(face, flat), transform, 16), crop.depth)
    meshed = _meshed(face, hemisphere())
    assert np.array_equal(face_depth(meshed, transform, 16), mesh_depth(meshed, transform, 16))


def test_mesh_depth_rejects_a_flat_mesh() -> None:
    _, face = synthetic_face()
    flat = hemisphere()
    flat[:, 2] = 0.0
    with pytest.raises(ValueError, match="flat"):
        mesh_depth(_meshed(face, flat), alignment_transform(face, CropSettings()), 32)


def test_mediapipe_detector_explains_the_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(ImportError, match=r"metafas\[faces\]"):
        mediapipe_detector()


@pytest.mark.parametrize("roll", [0.0, 30.0, -45.0, 180.0])
def test_mesh_face_box_ignores_roll(roll: float) -> None:
    grid = np.stack(np.meshgrid(np.linspace(-40, 40, 9), np.linspace(-60, 50, 12)), -1)
    centre = np.array([300.0, 200.0])
    points = np.array([_rotate(p, roll) for p in grid.reshape(-1, 2)]) + centre
    left_eye, right_eye = centre + _rotate((-20, -30), roll), centre + _rotate((20, -30), roll)
    box = mesh_face_box(points, left_eye, right_eye)
    middle = centre + _rotate((0.0, -5.0), roll)  # the grid spans y in [-60, 50]
    np.testing.assert_allclose(box, [*(middle - 55), *(middle + 55)], atol=1e-9)


# Real photos through the real MediaPipe detector (needs the faces extra and ../shared/realdata).

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
SILENTFACE = ["live/image_T1.jpg", "live/image_T2.jpg", "spoof/image_F1.jpg", "spoof/image_F2.jpg"]
NUAA = [
    "ClientRaw/0001/0001_00_00_01_0.jpg",
    "ClientRaw/0001/0001_00_00_02_217.jpg",  # a second person in the background
    "ImposterRaw/0001/0001_00_00_01_0.jpg",
]


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("mediapipe")
    found = mediapipe_detector()
    yield found
    found.close()


def _real_image(relative: str) -> np.ndarray:
    path = REALDATA / relative
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@pytest.mark.faces
@pytest.mark.data
@pytest.mark.parametrize(
    "relative", [f"silentface_samples/{n}" for n in SILENTFACE] + [f"nuaa/{n}" for n in NUAA]
)
def test_real_photo_crops_level_and_depth_plausible(detector, relative: str) -> None:
    image = _real_image(relative)
    face = detector(image)[0]
    assert face.landmarks3d is not None and face.landmarks3d.shape == (468, 3)
    assert face.left_eye[0] < face.right_eye[0]  # upright photos: left_eye on the image's left
    crop = crop_face(image, detector, CropSettings(), depth=mesh_depth)
    again = detector(crop.image)[0]  # re-detect on the aligned crop
    assert abs(again.left_eye[1] - again.right_eye[1]) < 4.0
    assert 60 < again.right_eye[0] - again.left_eye[0] < 110
    depth = crop.depth
    assert depth.shape == (32, 32) and 0.0 <= depth.min() and depth.max() <= 1.0
    row, col = np.unravel_index(depth.argmax(), depth.shape)
    assert 10 <= row <= 22 and 6 <= col <= 25  # the nose, near the middle
    # The face fills the middle; the crop's border is background (the forehead comes closest).
    assert (depth[0] == 0).all() and (depth[-4:] == 0).all()
    assert (depth[:, :3] == 0).all() and (depth[:, -3:] == 0).all()
    assert 0.25 < (depth > 0).mean() < 0.6


@pytest.mark.faces
@pytest.mark.data
@pytest.mark.parametrize("roll", [20.0, -35.0])
def test_real_crop_scale_does_not_depend_on_roll(detector, roll: float) -> None:
    upright = _real_image("silentface_samples/live/image_T2.jpg")
    turned = np.asarray(
        Image.fromarray(upright).rotate(roll, Image.Resampling.BILINEAR, expand=True)
    )
    settings = CropSettings()
    a, b = (crop_face(im, detector, settings, depth=mesh_depth) for im in (upright, turned))
    # A BlazeFace box shrinks by 10% at -35 degrees here; the mesh box by under 6%.
    assert b.transform.scale == pytest.approx(a.transform.scale, rel=0.08)
    assert (b.depth > 0).mean() == pytest.approx((a.depth > 0).mean(), abs=0.04)


@pytest.mark.faces
def test_real_detector_finds_no_face_in_a_blank_image(detector) -> None:
    with pytest.raises(NoFaceError) as caught:
        crop_face(np.full((240, 320, 3), 128, np.uint8), detector, CropSettings())
    assert caught.value.reason == "no face"
