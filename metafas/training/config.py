"""The run configuration: dataclass defaults, then a TOML preset, then `--set a.b=value`.

One `RunConfig` per run, resolved here, written next to the run and into every checkpoint.
"""

import dataclasses
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from metafas.data.protocols import get_protocol
from metafas.data.toml_file import read_toml as read_data_toml
from metafas.methods import method_class, method_names
from metafas.methods.registry import PLUGIN_HINT
from metafas.models import DepthNetConfig
from metafas.training.hardware import PRECISIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMPILE_MODES = ("off", "inductor", "aot_eager")


class ConfigError(ValueError):
    """A configuration field is unknown or has a wrong value."""


@dataclass(frozen=True)
class DataConfig:
    """Attributes:
    store: prepared-data store directory; "" uses the simulated default domains (cached).
    protocol: a name from metafas.data.protocols.PROTOCOLS, or from `protocols_file`.
    protocols_file: a TOML file of user-defined protocols ([protocols.NAME] tables); "" for none.
    val_fraction: share of each source domain's training subjects held out as source validation.
    """

    store: str = ""
    protocol: str = "sim_OCI_M"
    protocols_file: str = ""
    val_fraction: float = 0.2

    def __post_init__(self):
        try:
            get_protocol(self.protocol, self.protocols_file or None)
        except (ValueError, OSError) as error:
            raise ConfigError(f"data.protocol: {error}") from None
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass(frozen=True)
class TrainConfig:
    """Attributes:
    steps: optimisation steps.
    k: live and spoof frames per source domain per step (the paper: 10 and 10).
    lr: Adam learning rate (betas 0.9/0.999, no weight decay).
    seed: seed of weights, samplers and meta-splits.
    precision: "auto" (bf16 where the device computes it natively, else fp32; see
        metafas.training.hardware), "fp32", or "bf16" (autocast of F and D; weights,
        optimizer and the meta learner M stay fp32).
    device: "cpu", "cuda" or "auto".
    batched_domains: one forward of F over all source domains with per-domain BatchNorm
        statistics (equal to the released code's per-domain forwards, and faster).
    compile: "off", or a torch.compile backend ("inductor", "aot_eager") for F and D; the meta
        learner stays eager because the inner step differentiates through it twice.
    log_every, eval_every, checkpoint_every: intervals in steps.
    """

    steps: int = 2000
    k: int = 10
    lr: float = 1e-3
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    batched_domains: bool = True
    compile: str = "off"
    log_every: int = 10
    eval_every: int = 500
    checkpoint_every: int = 500

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            known = ", ".join(PRECISIONS)
            raise ConfigError(f"train.precision {self.precision!r} unknown; known: {known}")
        if self.compile not in COMPILE_MODES:
            known = ", ".join(COMPILE_MODES)
            raise ConfigError(f"train.compile {self.compile!r} unknown; known: {known}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"train.device {self.device!r} unknown; known: cpu, cuda, auto")
        for name in ("steps", "k", "log_every", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; `method_options` holds the chosen method's Config."""

    method: str = "rfm"
    model: DepthNetConfig = field(default_factory=DepthNetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    method_options: typing.Any = None

    def __post_init__(self):
        if self.method not in method_names():
            known = ", ".join(method_names())
            raise ConfigError(f"method {self.method!r} unknown; known: {known} ({PLUGIN_HINT})")
        if self.method_options is None:
            object.__setattr__(self, "method_options", method_class(self.method).Config())

    def to_dict(self) -> dict:
        out = {k: dataclasses.asdict(getattr(self, k)) for k in ("model", "data", "train")}
        return {"method": self.method, **out, self.method: dataclasses.asdict(self.method_options)}


RUNTIME_KEY = "runtime"
SECTIONS = {"model": DepthNetConfig, "data": DataConfig, "train": TrainConfig}


def config_from_dict(raw: dict) -> RunConfig:
    """Build a RunConfig from nested dicts, rejecting unknown keys and wrong types.

    A `runtime` table (what a run ran on, see metafas.training.hardware.runtime_record) is a record,
    not configuration: it is ignored here.
    """
    raw = dict(raw)
    raw.pop(RUNTIME_KEY, None)
    method = raw.pop("method", "rfm")
    if not isinstance(method, str) or method not in method_names():
        known = ", ".join(method_names())
        raise ConfigError(f"method {method!r} unknown; known: {known} ({PLUGIN_HINT})")
    sections = {**SECTIONS, method: method_class(method).Config}
    unknown = set(raw) - set(sections)
    if unknown:
        allowed = ", ".join(["method", *sections])
        raise ConfigError(f"unknown config section(s) {sorted(unknown)}; allowed: {allowed}")
    built = {name: build(cls, raw.get(name, {}), name) for name, cls in sections.items()}
    options = built.pop(method)
    return RunConfig(method=method, method_options=options, **built)


def build(cls: type, values: dict, where: str):
    """Instantiate dataclass `cls` from `values`, checking names and types field by field."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{where}] must be a table, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)} in [{where}]; allowed: {names}")
    checked = {k: check_type(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    try:
        return cls(**checked)
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(str(error)) from None


def check_type(value, hint, where: str):
    """Return `value` if it fits `hint` (ints are accepted for floats), else raise ConfigError.

    Every float field of every section and method Config must be finite: TOML and `--set`
    read `inf` and `nan` as floats, and no rate, weight or fraction means anything there.
    """
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if float in allowed and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if any(isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in allowed):
        return value
    names = " or ".join(t.__name__ for t in allowed)
    raise ConfigError(f"{where} must be {names}, got {value!r} ({type(value).__name__})")


def preset_names() -> list[str]:
    files = resources.files("metafas.training") / "presets"
    return sorted(p.name.removesuffix(".toml") for p in files.iterdir() if p.name.endswith(".toml"))


def preset_summary(name: str) -> str:
    """The first comment line of a built-in preset file (what the preset is for)."""
    text = (resources.files("metafas.training") / "presets" / f"{name}.toml").read_text()
    comments = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    return comments[0] if comments else ""


def load_toml(source: str) -> dict:
    """A preset name (e.g. "cpu") or a path to a TOML file."""
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return read_toml(path)
    if source not in preset_names():
        raise ConfigError(f"unknown preset {source!r}; known: {', '.join(preset_names())}")
    return read_toml(resources.files("metafas.training") / "presets" / f"{source}.toml")


def read_toml(path) -> dict:
    """A preset or sweep TOML file; ConfigError names the file (and the line and column)."""
    return read_data_toml(path, ConfigError)


def apply_override(raw: dict, assignment: str) -> None:
    """Apply `section.field=value`; the value is read as TOML (3, 1e-3, true, "x") or a string."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects section.field=value, got {assignment!r}")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    *sections, name = parts = key.strip().split(".")
    if not all(part.strip() for part in parts):
        raise ConfigError(f"--set {key.strip()}: empty name between dots")
    target = raw
    for depth, section in enumerate(sections):
        target = target.setdefault(section, {})
        if not isinstance(target, dict):
            table = ".".join(parts[: depth + 1])
            raise ConfigError(f"--set {key.strip()}: {table} is a value, not a table of fields")
    target[name] = value


def resolve_config(
    preset: str | None = None, overrides: list[str] = (), base: dict | None = None
) -> RunConfig:
    """Defaults, then the preset (name or file), then `--set` overrides, validated once."""
    raw = merge(base or {}, load_toml(preset) if preset else {})
    for assignment in overrides:
        apply_override(raw, assignment)
    return config_from_dict(raw)


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        both_tables = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both_tables else value
    return out
