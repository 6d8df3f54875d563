"""Declarative table of attack instruments: printers with their paper, and displays.

Pattern frequencies are given per *sensor pixel* of the recapturing camera (halftone cycles or
display pixels per sensor pixel), so the look of an attack (dot size, moire) is the same at
every output size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .sampling import Range


@dataclass(frozen=True)
class PrintSpec:
    """A printer, its screening and its paper, and how the sheet is presented."""

    screen: str  # "am": periodic dot screen (laser); "stochastic": random dots (inkjet)
    frequency: Range  # halftone cycles (or dots) per sensor pixel
    softness: Range  # ink spread: width of the dot threshold
    dot_gain: Range
    ink_density: Range  # fraction of the ideal ink absorption: contrast of the dots
    black_point: Range  # darkest printable reflectance relative to paper white
    saturation: Range  # printer-driver colour boost
    paper_white: tuple[float, float, float]  # paper reflectance (brighteners look bluish)
    texture: Range  # paper fibre texture amplitude
    gloss: Range  # specular glare of the coating
    blur_px: Range  # print blur, photo pixels
    photo_res: Range  # photo pixels per sensor pixel
    tilt_deg: float  # largest tilt of the sheet
    bend: Range  # sheet curvature, 1 / face units
    border_prob: float  # chance that the sheet's edge is inside the crop
    tone: Range = (1.6, 2.2)  # printer tone curve: coverage = 1 - value ** tone
    halftone: float = 1.0  # contrast of the dots kept (0: a continuous-tone print, no screen)
    kind: ClassVar[str] = "print"


@dataclass(frozen=True)
class DisplaySpec:
    """A display replaying a recorded video of the subject."""

    pitch_px: Range  # display pixel pitch in sensor pixels
    stripe: Range  # RGB subpixel width as a fraction of the pixel
    row_fill: Range  # fraction of the pixel height that emits (black matrix between rows)
    gamma: Range
    kelvin: Range  # white point
    saturation: Range
    black: Range  # black level relative to white
    glow: Range  # backlight bleed / veiling glare
    haze: Range  # diffusion of a matte anti-glare surface, display pixels
    reflectivity: Range  # specular reflection of the room
    video_res: Range  # pixels of the replayed video per sensor pixel
    flicker_prob: float  # chance of rolling-shutter banding from a PWM backlight
    tilt_deg: float
    bezel_prob: float  # chance that the device's edge is inside the crop
    bezel_colour: tuple[float, float, float]
    grid: float = 1.0  # contrast of the subpixel grid kept (0: a display without visible pixels)
    kind: ClassVar[str] = "replay"


Instrument = PrintSpec | DisplaySpec

INSTRUMENTS: dict[str, Instrument] = {
    # Colour laser on plain office paper (Replay-Attack style): coarse visible dot screen.
    "print_office": PrintSpec(
        screen="am",
        frequency=(0.5, 0.8),
        softness=(0.15, 0.3),
        dot_gain=(0.1, 0.25),
        ink_density=(0.72, 0.85),
        black_point=(0.03, 0.08),
        saturation=(1.0, 1.35),
        paper_white=(0.85, 0.85, 0.87),
        texture=(0.02, 0.05),
        gloss=(0.0, 0.02),
        blur_px=(0.6, 1.2),
        photo_res=(0.7, 1.1),
        tilt_deg=18.0,
        bend=(0.0, 0.15),
        border_prob=0.4,
    ),
    # Inkjet on glossy photo paper: fine stochastic dots, deep blacks, glare.
    "print_inkjet": PrintSpec(
        screen="stochastic",
        frequency=(3.0, 8.0),
        softness=(0.3, 0.5),
        dot_gain=(0.05, 0.15),
        ink_density=(0.88, 0.97),
        black_point=(0.015, 0.04),
        saturation=(1.1, 1.4),
        paper_white=(0.9, 0.9, 0.91),
        texture=(0.005, 0.015),
        gloss=(0.05, 0.2),
        blur_px=(0.8, 1.6),
        photo_res=(0.6, 1.0),
        tilt_deg=15.0,
        bend=(0.0, 0.2),
        border_prob=0.3,
    ),
    # Fine-screen colour laser (OULU-NPU's second printer).
    "print_laser": PrintSpec(
        screen="am",
        frequency=(0.3, 0.6),
        softness=(0.12, 0.25),
        dot_gain=(0.08, 0.2),
        ink_density=(0.8, 0.9),
        black_point=(0.04, 0.08),
        saturation=(0.9, 1.2),
        paper_white=(0.87, 0.87, 0.88),
        texture=(0.01, 0.03),
        gloss=(0.0, 0.05),
        blur_px=(0.5, 1.0),
        photo_res=(0.8, 1.2),
        tilt_deg=15.0,
        bend=(0.0, 0.15),
        border_prob=0.3,
    ),
    # Photo on coated paper, warped toward the camera (CASIA-FASD style).
    "print_warped": PrintSpec(
        screen="stochastic",
        frequency=(2.5, 6.0),
        softness=(0.25, 0.45),
        dot_gain=(0.05, 0.2),
        ink_density=(0.85, 0.95),
        black_point=(0.02, 0.05),
        saturation=(1.0, 1.4),
        paper_white=(0.88, 0.88, 0.89),
        texture=(0.01, 0.02),
        gloss=(0.1, 0.3),
        blur_px=(1.0, 2.0),
        photo_res=(0.8, 1.2),
        tilt_deg=22.0,
        bend=(0.25, 0.6),
        border_prob=0.5,
    ),
    # Large laser print on A3 (MSU-MFSD style): the camera is close, dots are big.
    "print_a3": PrintSpec(
        screen="am",
        frequency=(0.3, 0.5),
        softness=(0.2, 0.35),
        dot_gain=(0.1, 0.2),
        ink_density=(0.78, 0.9),
        black_point=(0.05, 0.1),
        saturation=(1.2, 1.6),
        paper_white=(0.86, 0.86, 0.87),
        texture=(0.015, 0.035),
        gloss=(0.0, 0.05),
        blur_px=(0.8, 1.4),
        photo_res=(0.6, 1.0),
        tilt_deg=12.0,
        bend=(0.0, 0.1),
        border_prob=0.2,
    ),
    # Matte desktop LCD (OULU-NPU's monitor): coarse pixels, anti-glare haze.
    "replay_monitor": DisplaySpec(
        pitch_px=(1.0, 2.0),
        stripe=(0.26, 0.31),
        row_fill=(0.75, 0.9),
        gamma=(2.1, 2.5),
        kelvin=(6000, 7500),
        saturation=(1.0, 1.3),
        black=(0.005, 0.02),
        glow=(0.02, 0.06),
        haze=(0.3, 0.7),
        reflectivity=(0.005, 0.02),
        video_res=(0.7, 1.2),
        flicker_prob=0.3,
        tilt_deg=10.0,
        bezel_prob=0.35,
        bezel_colour=(0.03, 0.03, 0.035),
    ),
    # High-density glossy laptop or tablet (retina): fine pixels, sharp reflections.
    "replay_retina": DisplaySpec(
        pitch_px=(0.7, 1.4),
        stripe=(0.26, 0.31),
        row_fill=(0.8, 0.92),
        gamma=(2.0, 2.3),
        kelvin=(5500, 7500),
        saturation=(1.05, 1.4),
        black=(0.002, 0.01),
        glow=(0.01, 0.04),
        haze=(0.0, 0.2),
        reflectivity=(0.03, 0.07),
        video_res=(0.7, 1.2),
        flicker_prob=0.15,
        tilt_deg=10.0,
        bezel_prob=0.3,
        bezel_colour=(0.55, 0.55, 0.57),
    ),
    # Old phone replaying a low-resolution video (Replay-Attack "mobile").
    "replay_phone": DisplaySpec(
        pitch_px=(0.6, 1.2),
        stripe=(0.25, 0.3),
        row_fill=(0.7, 0.85),
        gamma=(1.9, 2.4),
        kelvin=(6500, 9000),
        saturation=(1.0, 1.35),
        black=(0.01, 0.04),
        glow=(0.015, 0.05),
        haze=(0.0, 0.3),
        reflectivity=(0.02, 0.06),
        video_res=(0.7, 1.2),
        flicker_prob=0.4,
        tilt_deg=14.0,
        bezel_prob=0.6,
        bezel_colour=(0.02, 0.02, 0.02),
    ),
    # First-generation tablet (CASIA-FASD's iPad replay).
    "replay_tablet": DisplaySpec(
        pitch_px=(0.8, 1.5),
        stripe=(0.26, 0.31),
        row_fill=(0.75, 0.9),
        gamma=(2.0, 2.4),
        kelvin=(6000, 8000),
        saturation=(1.0, 1.3),
        black=(0.008, 0.03),
        glow=(0.02, 0.06),
        haze=(0.0, 0.25),
        reflectivity=(0.04, 0.08),
        video_res=(0.7, 1.2),
        flicker_prob=0.3,
        tilt_deg=12.0,
        bezel_prob=0.45,
        bezel_colour=(0.02, 0.02, 0.025),
    ),
    # High-resolution tablet or phone (MSU-MFSD's iPad Air and iPhone 5S).
    "replay_hires": DisplaySpec(
        pitch_px=(0.7, 1.4),
        stripe=(0.27, 0.32),
        row_fill=(0.8, 0.92),
        gamma=(2.1, 2.4),
        kelvin=(5500, 7500),
        saturation=(0.9, 1.2),
        black=(0.003, 0.012),
        glow=(0.01, 0.04),
        haze=(0.0, 0.15),
        reflectivity=(0.03, 0.08),
        video_res=(0.7, 1.2),
        flicker_prob=0.2,
        tilt_deg=10.0,
        bezel_prob=0.3,
        bezel_colour=(0.03, 0.03, 0.03),
    ),
}
