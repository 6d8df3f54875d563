"""The testbed's cue switches: which live/spoof differences the simulator renders.

Two kinds of cue tell a spoof from a live face in the simulated domains, as in the real
databases (docs/simulator.md):

- **domain-specific** cues belong to one capture set-up and do not transfer: each domain's
  attack videos were recorded in their own sessions, with an exposure or colour rendition that
  differs from its live sessions (``DomainSpec.attack_session``), in a direction that differs
  from domain to domain;
- **general** cues hold in every domain: the recapture texture of prints and screens
  (halftone dots, paper fibres, display subpixels and their moire), the edges of the medium
  (paper margins, bezels) inside the crop, and specular light on the medium (glossy paper
  glare, room reflections in a screen). The 3-D shape and shading of a live face, against the
  flat medium of an attack, is the task itself and is always rendered.

``Cues`` switches each one off by rewriting the declarative tables (``DomainSpec``,
``PrintSpec``, ``DisplaySpec``) before any pixel is made; every random draw still happens, so
a switch changes what it names and the random streams of everything else stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .domains import DomainSpec, SessionCue
from .instruments import DisplaySpec, Instrument, PrintSpec

DOMAIN_SPECIFIC = ("attack_session",)
GENERAL = ("recapture_texture", "medium_edges", "specular")


@dataclass(frozen=True)
class Cues:
    """Which cues are rendered; all on is the default simulator (``Cues()``)."""

    attack_session: bool = True  # domain-specific: attack sessions' own exposure and colour
    recapture_texture: bool = True  # general: halftone dots, fibres, display subpixels, moire
    medium_edges: bool = True  # general: paper margins and device bezels inside the crop
    specular: bool = True  # general: glare on glossy paper, room reflections in screens

    @classmethod
    def without(cls, *names: str) -> Cues:
        """All cues but ``names``; an unknown name is refused with the known ones."""
        known = [f.name for f in fields(cls)]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown cue(s) {unknown}; known: {', '.join(known)}")
        return cls(**{n: False for n in names})

    @property
    def switched_off(self) -> tuple[str, ...]:
        """Names of the cues that are off, in declaration order."""
        return tuple(f.name for f in fields(self) if not getattr(self, f.name))

    def domain(self, spec: DomainSpec) -> DomainSpec:
        """The domain as rendered with these cues."""
        if self.attack_session:
            return spec
        return replace(spec, attack_session=SessionCue(description="switched off"))

    def instrument(self, instrument: Instrument) -> Instrument:
        """The print or display as rendered with these cues."""
        if isinstance(instrument, PrintSpec):
            return self._printer(instrument)
        return self._display(instrument)

    def _printer(self, spec: PrintSpec) -> PrintSpec:
        if not self.recapture_texture:
            spec = replace(spec, halftone=0.0, texture=(0.0, 0.0))
        if not self.medium_edges:
            spec = replace(spec, border_prob=0.0)
        if not self.specular:
            spec = replace(spec, gloss=(0.0, 0.0))
        return spec

    def _display(self, spec: DisplaySpec) -> DisplaySpec:
        if not self.recapture_texture:
            spec = replace(spec, grid=0.0, flicker_prob=0.0)
        if not self.medium_edges:
            spec = replace(spec, bezel_prob=0.0)
        if not self.specular:
            spec = replace(spec, reflectivity=(0.0, 0.0))
        return spec


ALL_CUES = Cues()
