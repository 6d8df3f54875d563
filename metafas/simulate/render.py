"""Shading of a posed face under the scene light, composited over its background."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, shift

from .appearance import Identity, paint
from .face import BACKGROUND, Expression, Pose, view_surface
from .scene import Light, light_gradient, lit_backdrop

SKIN_WRAP = 0.25  # wrap-around diffuse term: light bleeding through skin (subsurface scattering)


@dataclass(frozen=True, eq=False)
class RenderedFace:
    """Linear scene radiance of a face view and its depth label."""

    radiance: np.ndarray  # (n, n, 3) float32
    label: np.ndarray  # (n, n) float32 in [0, 1], 0 off the face


def surface_normals(depth: np.ndarray, pixel: float) -> np.ndarray:
    """Unit normals ``(n, n, 3)`` of an image-space depth map (x right, y down, z to camera)."""
    gy, gx = np.gradient(depth, pixel)
    normals = np.stack([-gx, -gy, np.ones_like(depth)], axis=-1)
    return normals / np.linalg.norm(normals, axis=-1, keepdims=True)


def render_face(
    ident: Identity,
    pose: Pose,
    expr: Expression,
    light: Light,
    backdrop: np.ndarray,
    extent: float = 1.0,
) -> RenderedFace:
    """Renders a face over ``backdrop`` (``(n, n, 3)`` reflectances) covering ``±extent``.

    Diffuse (wrapped Lambert) plus Blinn-Phong specular from the key light, ambient light, a
    soft drop shadow of the head on the background, and the light's spatial falloff.
    """
    n = backdrop.shape[0]
    view = view_surface(ident.shape, expr, pose, n, extent)
    materials = paint(view, expr, ident)
    normals = surface_normals(view.depth, 2.0 * extent / n)
    cosine = normals @ light.direction
    diffuse = np.clip((cosine + SKIN_WRAP) / (1.0 + SKIN_WRAP), 0.0, None)
    halfway = light.direction + np.array([0.0, 0.0, 1.0], np.float32)
    halfway /= np.linalg.norm(halfway)
    facing = np.clip(normals @ halfway, 0.0, 1.0)
    specular = light.skin_gloss * materials.gloss * facing**materials.shininess * (cosine > 0)
    irradiance = light.ambient + light.key * diffuse
    radiance = materials.albedo * irradiance[..., None] + (light.key * specular)[..., None]
    foreground = view.layer != BACKGROUND
    radiance *= light_gradient(light, n, extent)[..., None] * light.colour
    wall = lit_backdrop(backdrop, light, _shadow(foreground, light, n), extent)
    radiance = np.where(foreground[..., None], radiance, wall)
    return RenderedFace(radiance.astype(np.float32), view.label)


def _shadow(foreground: np.ndarray, light: Light, n: int) -> np.ndarray:
    """Fraction of key light reaching the wall behind the head (1 = unshadowed)."""
    offset = -light.direction[:2] / max(light.direction[2], 0.3) * 0.12 * n
    cast = shift(foreground.astype(np.float32), (offset[1], offset[0]), order=0, cval=0.0)
    return 1.0 - 0.6 * gaussian_filter(cast, 0.04 * n)
