"""Declarative table of the four default simulated domains, after OULU-NPU, CASIA-FASD,
Idiap Replay-Attack and MSU-MFSD: who is filmed, under which light, by which camera, and with
which attack instruments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .camera import RESAMPLE, CameraSpec
from .instruments import INSTRUMENTS
from .sampling import Range
from .scene import LightSpec

# The camera that took the photo or video an attacker shows: a decent consumer camera, not
# the domain's own (as with Replay-Attack's and MSU-MFSD's attack sources).
SOURCE_CAMERA = CameraSpec(
    sensor_scale=(1.0, 1.0),  # unused: the raster size of a photo or video comes from the medium
    blur_px=(0.3, 0.8),
    motion_blur_px=(0.0, 0.4),
    read_noise=(0.001, 0.006),
    shot_noise=(0.0001, 0.0005),
    exposure=(0.14, 0.24),
    awb_strength=(0.7, 1.0),
    awb_greyworld=(0.0, 0.3),
    cast=(1.0, 1.0, 1.0),
    saturation=(0.85, 1.2),
    hue_rotation=(-3.0, 3.0),
    contrast=(0.0, 0.4),
    sharpen=(0.0, 0.6),
    vignette=(0.0, 0.2),
    flare=(0.0, 0.02),
    auto_levels=(0.0, 0.8),
    jpeg_quality=(80, 95),
    chroma_subsampling=2,
    resample="bicubic",
)


@dataclass(frozen=True)
class SessionCue:
    """How one domain's attack sessions were captured differently from its live sessions.

    Real databases record live and attack videos in separate sessions, so each carries a
    live/spoof difference of exposure or colour that belongs to its own set-up and points
    another way in the next database: the domain-specific cue (``metafas.simulate.cues``).
    The defaults are no difference.
    """

    exposure: float = 1.0  # factor on the camera's auto-exposure target
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # factor on the residual colour cast
    saturation: float = 1.0  # factor on the camera's colour saturation
    description: str = "none"

    def camera(self, spec: CameraSpec) -> CameraSpec:
        """The domain's camera as set up in its attack sessions."""
        return replace(
            spec,
            exposure=_scaled(spec.exposure, self.exposure),
            cast=tuple(c * f for c, f in zip(spec.cast, self.cast, strict=True)),
            saturation=_scaled(spec.saturation, self.saturation),
        )


def _scaled(span: Range, factor: float) -> Range:
    return (span[0] * factor, span[1] * factor)


@dataclass(frozen=True)
class DomainSpec:
    """One simulated capture domain (a stand-in for one benchmark database)."""

    name: str
    description: str
    subjects: int  # identities, numbered s000.. ; the first ``train_subjects`` form "train"
    train_subjects: int
    live_videos: int  # live videos per subject
    attacks: tuple[str, ...]  # instrument names (keys of INSTRUMENTS), one video each per subject
    frames_per_video: int
    camera: CameraSpec
    light: LightSpec
    skin_tone: Range  # 0 = lightest, 1 = darkest skin in the domain's population
    clutter: tuple[int, int]  # objects in the background
    head_motion_deg: float  # amplitude of head motion across a video
    hand_motion_deg: float  # tremor of a hand-held spoof medium per frame
    face_scale: Range  # face size in the aligned crop
    source_camera: CameraSpec = SOURCE_CAMERA  # took the photos and videos that are replayed
    attack_session: SessionCue = field(default_factory=SessionCue)  # domain-specific cue

    def __post_init__(self) -> None:
        if not 0 < self.train_subjects < self.subjects:
            raise ValueError(
                f"domain {self.name!r}: need 0 < train_subjects < subjects, "
                f"got {self.train_subjects} and {self.subjects}"
            )
        if self.live_videos < 1 or self.frames_per_video < 1:
            raise ValueError(f"domain {self.name!r}: live_videos and frames_per_video must be >= 1")
        unknown = [a for a in self.attacks if a not in INSTRUMENTS]
        if unknown:
            raise ValueError(
                f"domain {self.name!r}: unknown attack instrument(s) {unknown}; "
                f"known: {', '.join(sorted(INSTRUMENTS))}"
            )
        if self.camera.resample not in RESAMPLE:
            raise ValueError(
                f"domain {self.name!r}: unknown resample {self.camera.resample!r}; "
                f"known: {', '.join(RESAMPLE)}"
            )

    @property
    def videos_per_subject(self) -> int:
        """Live plus attack videos of one subject."""
        return self.live_videos + len(self.attacks)


DOMAINS: dict[str, DomainSpec] = {
    "sim_o": DomainSpec(
        name="sim_o",
        description="OULU-NPU-like: sharp high-resolution phone cameras, office light, "
        "inkjet and laser prints, a glossy high-density display",
        subjects=40,
        train_subjects=24,
        live_videos=2,
        attacks=("print_inkjet", "print_laser", "replay_retina"),
        frames_per_video=6,
        camera=CameraSpec(
            sensor_scale=(1.4, 1.9),
            blur_px=(0.4, 1.3),
            motion_blur_px=(0.0, 0.8),
            read_noise=(0.001, 0.005),
            shot_noise=(0.0003, 0.001),
            exposure=(0.15, 0.22),
            awb_strength=(0.75, 1.0),
            awb_greyworld=(0.2, 0.6),
            cast=(1.0, 1.0, 1.02),
            saturation=(0.8, 1.3),
            hue_rotation=(-4.0, 4.0),
            contrast=(-0.1, 0.45),
            sharpen=(0.0, 1.2),
            vignette=(0.05, 0.3),
            flare=(0.0, 0.04),
            auto_levels=(0.0, 0.9),
            jpeg_quality=(60, 95),
            chroma_subsampling=2,
            resample="point",
        ),
        light=LightSpec(
            key=(0.5, 1.0),
            ambient=(0.3, 0.6),
            azimuth_deg=(-50, 50),
            elevation_deg=(5, 40),
            kelvin=(3200, 6500),
            falloff=(0.0, 0.25),
            skin_gloss=(0.05, 0.25),
        ),
        skin_tone=(0.0, 0.35),
        clutter=(2, 6),
        head_motion_deg=2.0,
        hand_motion_deg=0.8,
        face_scale=(0.92, 1.05),
        attack_session=SessionCue(
            exposure=0.55,
            description="attack sessions metered darker than live ones",
        ),
    ),
    "sim_c": DomainSpec(
        name="sim_c",
        description="CASIA-FASD-like: low to high quality USB and compact cameras, warm light, "
        "warped glossy photos, a first-generation tablet",
        subjects=40,
        train_subjects=24,
        live_videos=2,
        attacks=("print_warped", "replay_tablet"),
        frames_per_video=6,
        camera=CameraSpec(
            sensor_scale=(0.7, 1.5),
            blur_px=(0.5, 1.4),
            motion_blur_px=(0.0, 1.2),
            read_noise=(0.003, 0.012),
            shot_noise=(0.0005, 0.002),
            exposure=(0.1, 0.3),
            awb_strength=(0.5, 0.9),
            awb_greyworld=(0.3, 0.8),
            cast=(1.04, 1.0, 0.92),
            saturation=(0.85, 1.15),
            hue_rotation=(-8.0, 2.0),
            contrast=(-0.2, 0.45),
            sharpen=(0.0, 1.0),
            vignette=(0.1, 0.4),
            flare=(0.01, 0.06),
            auto_levels=(0.0, 0.7),
            jpeg_quality=(45, 85),
            chroma_subsampling=2,
            resample="bilinear",
        ),
        light=LightSpec(
            key=(0.4, 1.0),
            ambient=(0.2, 0.6),
            azimuth_deg=(-70, 70),
            elevation_deg=(0, 45),
            kelvin=(2800, 6000),
            falloff=(0.0, 0.3),
            skin_gloss=(0.05, 0.3),
        ),
        skin_tone=(0.15, 0.4),
        clutter=(1, 4),
        head_motion_deg=3.0,
        hand_motion_deg=1.5,
        face_scale=(0.88, 1.08),
        attack_session=SessionCue(
            cast=(1.14, 1.0, 0.82),
            saturation=1.55,
            description="attack sessions warmer and more saturated than live ones",
        ),
    ),
    "sim_i": DomainSpec(
        name="sim_i",
        description="Replay-Attack-like: low-resolution laptop webcam, controlled and adverse "
        "light, office laser prints, an old phone replaying a small video",
        subjects=40,
        train_subjects=24,
        live_videos=2,
        attacks=("print_office", "replay_phone"),
        frames_per_video=6,
        camera=CameraSpec(
            sensor_scale=(0.6, 0.85),
            blur_px=(0.5, 1.5),
            motion_blur_px=(0.0, 0.8),
            read_noise=(0.003, 0.01),
            shot_noise=(0.0005, 0.0015),
            exposure=(0.13, 0.24),
            awb_strength=(0.6, 1.0),
            awb_greyworld=(0.4, 0.9),
            cast=(0.97, 1.0, 1.06),
            saturation=(0.6, 1.15),
            hue_rotation=(-2.0, 8.0),
            contrast=(-0.1, 0.4),
            sharpen=(0.0, 1.4),
            vignette=(0.1, 0.4),
            flare=(0.01, 0.06),
            auto_levels=(0.0, 0.8),
            jpeg_quality=(50, 85),
            chroma_subsampling=2,
            resample="bilinear",
        ),
        light=LightSpec(
            key=(0.3, 1.2),
            ambient=(0.15, 0.6),
            azimuth_deg=(-80, 80),
            elevation_deg=(-10, 50),
            kelvin=(3000, 7500),
            falloff=(0.0, 0.4),
            skin_gloss=(0.05, 0.2),
        ),
        skin_tone=(0.0, 0.8),
        clutter=(0, 5),
        head_motion_deg=1.5,
        hand_motion_deg=1.0,
        face_scale=(0.85, 1.0),
        attack_session=SessionCue(
            exposure=1.7,
            description="attack sessions metered brighter than live ones",
        ),
    ),
    "sim_m": DomainSpec(
        name="sim_m",
        description="MSU-MFSD-like: laptop and Android cameras, even indoor light, large A3 "
        "laser prints, high-resolution tablets and phones",
        subjects=40,
        train_subjects=24,
        live_videos=2,
        attacks=("print_a3", "replay_hires"),
        frames_per_video=6,
        camera=CameraSpec(
            sensor_scale=(0.9, 1.3),
            blur_px=(0.4, 1.3),
            motion_blur_px=(0.0, 0.7),
            read_noise=(0.002, 0.008),
            shot_noise=(0.0003, 0.0012),
            exposure=(0.12, 0.28),
            awb_strength=(0.75, 1.0),
            awb_greyworld=(0.2, 0.6),
            cast=(1.02, 1.0, 0.98),
            saturation=(0.95, 1.25),
            hue_rotation=(-5.0, 5.0),
            contrast=(0.0, 0.55),
            sharpen=(0.2, 1.6),
            vignette=(0.03, 0.25),
            flare=(0.0, 0.04),
            auto_levels=(0.2, 1.0),
            jpeg_quality=(55, 92),
            chroma_subsampling=0,
            resample="lanczos",
        ),
        light=LightSpec(
            key=(0.5, 0.9),
            ambient=(0.35, 0.6),
            azimuth_deg=(-40, 40),
            elevation_deg=(10, 40),
            kelvin=(3500, 7000),
            falloff=(0.0, 0.2),
            skin_gloss=(0.05, 0.25),
        ),
        skin_tone=(0.0, 0.9),
        clutter=(1, 5),
        head_motion_deg=2.0,
        hand_motion_deg=1.0,
        face_scale=(0.9, 1.05),
        attack_session=SessionCue(
            cast=(0.86, 1.0, 1.14),
            saturation=0.55,
            description="attack sessions cooler and paler than live ones",
        ),
    ),
}


def get_domain(domain: str | DomainSpec) -> DomainSpec:
    """Looks a domain up by name (a ``DomainSpec`` passes through)."""
    if isinstance(domain, DomainSpec):
        return domain
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(sorted(DOMAINS))}")
    return DOMAINS[domain]
