"""One simulated video: a live capture, a print attack or a replay attack of one identity."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from .appearance import Identity
from .camera import Camera, capture, develop, draw_camera
from .domains import DomainSpec
from .instruments import DisplaySpec, PrintSpec
from .medium import Placement, PlaneView, draw_placement, jitter, view_plane
from .motion import draw_expression, draw_pose, expression_track, pose_track
from .print_attack import print_photo, view_print
from .render import render_face
from .replay_attack import draw_screen, reflection_map, view_screen
from .sampling import draw
from .scene import Light, background, draw_light, lit_backdrop

MAX_SOURCE_SCALE = 1.6  # cap on photo / video raster size relative to the camera's native size


@dataclass(frozen=True, eq=False)
class Clip:
    """Captured frames and, for live videos, depth labels."""

    frames: np.ndarray  # (T, size, size, 3) uint8
    depth: np.ndarray | None  # (T, depth_size, depth_size) float32 in [0, 1]


@dataclass(frozen=True, eq=False)
class Session:
    """The room and camera of one video, shared by whatever is in front of the camera."""

    camera: Camera
    light: Light
    backdrop: np.ndarray  # (n, n, 3) wall reflectances


def _session(spec: DomainSpec, rng: np.random.Generator, size: int, attack: bool) -> Session:
    """Draws the camera, the light and the wall of a live or an attack video."""
    camera_spec = spec.attack_session.camera(spec.camera) if attack else spec.camera
    camera = draw_camera(camera_spec, size, rng)
    light = draw_light(rng, spec.light)
    return Session(camera, light, background(rng, camera.native, spec.clutter))


def _resize_depth(label: np.ndarray, depth_size: int) -> np.ndarray:
    """Area-averaged resize of a depth label (no overshoot)."""
    image = Image.fromarray(label.astype(np.float32))
    resized = image.resize((depth_size, depth_size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def live_clip(
    spec: DomainSpec,
    ident: Identity,
    rng: np.random.Generator,
    size: int,
    depth_size: int,
    frames: int,
) -> Clip:
    """A real person in front of the camera; depth labels come from the rendered surface."""
    room = _session(spec, rng, size, attack=False)
    poses = pose_track(rng, draw_pose(rng, spec.face_scale), frames, spec.head_motion_deg)
    exprs = expression_track(rng, draw_expression(rng), frames)
    images, depths = [], []
    for pose, expr in zip(poses, exprs, strict=True):
        face = render_face(ident, pose, expr, room.light, room.backdrop)
        images.append(capture(face.radiance, room.camera, room.light.colour, rng, size))
        depths.append(_resize_depth(face.label, depth_size))
    return Clip(np.stack(images), np.stack(depths))


def _recording(
    spec: DomainSpec, ident: Identity, rng: np.random.Generator, n: int, extent: float, frames: int
) -> tuple[list[np.ndarray], Light]:
    """Radiance of an earlier recording of the person (own light, pose, expression, room)."""
    light = draw_light(rng, spec.light)
    backdrop = background(rng, n, spec.clutter, extent)
    poses = pose_track(rng, draw_pose(rng, (0.95, 1.05)), frames, spec.head_motion_deg)
    exprs = expression_track(rng, draw_expression(rng), frames)
    pairs = zip(poses, exprs, strict=True)
    return [render_face(ident, p, e, light, backdrop, extent).radiance for p, e in pairs], light


def _views(
    spec: DomainSpec, placement: Placement, rng: np.random.Generator, n: int, frames: int
) -> tuple[list[PlaneView], float]:
    """The medium as seen in each frame (hand tremor), and the largest medium coordinate seen."""
    views = [view_plane(jitter(placement, rng, spec.hand_motion_deg), n) for _ in range(frames)]
    reach = max(float(np.maximum(np.abs(v.s), np.abs(v.t)).max()) for v in views)
    return views, reach


def _source_size(extent: float, per_unit: float, n: int) -> int:
    """Raster size of a photo or video covering ``[-extent, extent]`` at ``per_unit`` px/unit."""
    return int(np.clip(round(2.0 * extent * per_unit), 16, MAX_SOURCE_SCALE * n))


def print_clip(
    spec: DomainSpec,
    printer: PrintSpec,
    ident: Identity,
    rng: np.random.Generator,
    size: int,
    frames: int,
) -> Clip:
    """A printed photo of the person held in front of the camera."""
    room = _session(spec, rng, size, attack=True)
    n = room.camera.native
    placement = draw_placement(rng, printer.tilt_deg, printer.bend, spec.face_scale)
    views, reach = _views(spec, placement, rng, n, frames)
    pixel = views[0].pixel
    bordered = rng.random() < printer.border_prob
    extent = draw(rng, (0.9, 1.2) if bordered else (1.6, 2.2))
    extent = min(extent, reach + 0.1)
    photo_n = _source_size(extent, draw(rng, printer.photo_res) / pixel, n)
    (radiance,), photo_light = _recording(spec, ident, rng, photo_n, extent, 1)
    photo_camera = replace(draw_camera(spec.source_camera, size, rng), native=photo_n)
    photo = develop(radiance, photo_camera, photo_light.colour, None)
    sheet = print_photo(photo, extent, printer, draw(rng, printer.frequency) / pixel, rng)
    surround = lit_backdrop(room.backdrop, room.light)
    glare = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0))
    images = []
    for view in views:
        radiance = view_print(sheet, view, room.camera, room.light, surround, glare)
        images.append(capture(radiance, room.camera, room.light.colour, rng, size))
    return Clip(np.stack(images), None)


def replay_clip(
    spec: DomainSpec,
    display: DisplaySpec,
    ident: Identity,
    rng: np.random.Generator,
    size: int,
    frames: int,
) -> Clip:
    """A recorded video of the person replayed on a display in front of the camera."""
    room = _session(spec, rng, size, attack=True)
    n = room.camera.native
    placement = draw_placement(rng, display.tilt_deg, (0.0, 0.0), spec.face_scale)
    views, reach = _views(spec, placement, rng, n, frames)
    pitch = draw(rng, display.pitch_px) * views[0].pixel
    bordered = rng.random() < display.bezel_prob
    screen = draw_screen(display, rng, pitch, draw(rng, (0.9, 1.2) if bordered else (1.6, 2.5)))
    extent = min(screen.active, reach + 0.05)
    video_n = _source_size(extent, draw(rng, display.video_res) / views[0].pixel, n)
    video_camera = replace(draw_camera(spec.source_camera, size, rng), native=video_n)
    recording, video_light = _recording(spec, ident, rng, video_n, extent, frames)
    video = [capture(r, video_camera, video_light.colour, rng) / np.float32(255) for r in recording]
    surround = lit_backdrop(room.backdrop, room.light)
    reflection = reflection_map(rng, n)
    images = []
    for content, view in zip(video, views, strict=True):
        radiance = view_screen(
            screen, content, extent, view, room.camera, room.light, surround, reflection
        )
        images.append(capture(radiance, room.camera, room.light.colour, rng, size))
    return Clip(np.stack(images), None)
