"""Sweeps: protocols x methods x seeds (x ablations) from one TOML file, resumable.

A sweep file:
    preset = "cpu"                        # a preset name or a TOML file (relative to this file)
    protocols = ["sim_OCI_M", "sim_OMI_C"]
    methods = ["deepall", "rfm"]
    seeds = [0, 1, 2]
    overrides = ["train.steps=200"]       # applied to every run (optional)
    include_base = true                   # also run without any ablation (optional, default)
    [ablations]                           # named override sets (optional)
    first_order = ["rfm.first_order=true"]

Overrides of a method's own section (e.g. `rfm.`) only apply to that method, and an ablation
made of such overrides only runs for the methods it names. Each run goes to
`<out>/<protocol>-<method>[+<ablation>]-seed<seed>`. A run directory with `done.json` and the
config it would run is skipped (one with another config is an error). One with config.json but
no done.json was interrupted: with the same config it is resumed exactly from its latest
checkpoint (`metafas.training.loop.resume`); with another config it is moved aside to
`<name>.interrupted-<N>` (kept, never deleted) and trained anew. So a sweep can be stopped at
any time and restarted with the same command.
"""

import json
import logging
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metafas.data.atomic import atomic_write_json
from metafas.data.lock import directory_lock
from metafas.methods import method_names
from metafas.training.config import RUNTIME_KEY, RunConfig, read_toml, resolve_config

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

log = logging.getLogger(__name__)

SPEC_KEYS = ("preset", "protocols", "methods", "seeds", "overrides", "include_base", "ablations")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


class SweepError(ValueError):
    """A sweep file is invalid, or an output directory holds a conflicting run."""


@dataclass(frozen=True)
class SweepSpec:
    """What to run: the product of protocols, methods, seeds and variants (base + ablations)."""

    protocols: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    include_base: bool = True
    ablations: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("protocols", "methods", "seeds"):
            if not getattr(self, name):
                raise SweepError(f"sweep needs a non-empty list `{name}`")
        bad = [name for name in self.ablations if not NAME_PATTERN.match(name)]
        if bad:
            raise SweepError(f"ablation names must be letters, digits or _; got {bad}")
        if not self.include_base and not self.ablations:
            raise SweepError("include_base = false needs at least one [ablations] entry")


def load_spec(path: Path) -> SweepSpec:
    """Read and check a sweep TOML file; a preset file path is taken relative to it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep file at {path}")
    raw = read_toml(path)
    unknown = sorted(set(raw) - set(SPEC_KEYS))
    if unknown:
        raise SweepError(f"unknown key(s) {unknown} in {path}; allowed: {', '.join(SPEC_KEYS)}")
    preset = raw.get("preset")
    if preset and preset.endswith(".toml") and not Path(preset).is_absolute():
        preset = str(path.parent / preset)
    seeds = raw.get("seeds", ())
    if not isinstance(seeds, list) or not all(type(seed) is int for seed in seeds):
        raise SweepError(f"seeds in {path} must be a list of whole numbers, got {seeds!r}")
    ablations = raw.get("ablations", {})
    if not isinstance(ablations, dict) or not all(isinstance(v, list) for v in ablations.values()):
        raise SweepError(f"[ablations] in {path} must map names to lists of overrides")
    return SweepSpec(
        protocols=tuple(raw.get("protocols", ())),
        methods=tuple(raw.get("methods", ())),
        seeds=tuple(seeds),
        preset=preset,
        overrides=tuple(raw.get("overrides", ())),
        include_base=bool(raw.get("include_base", True)),
        ablations={name: tuple(values) for name, values in ablations.items()},
    )


@dataclass(frozen=True)
class PlannedRun:
    name: str
    protocol: str
    method: str
    ablation: str | None
    seed: int
    config: RunConfig


def method_sections(overrides: tuple[str, ...]) -> set[str]:
    """Method names whose own config section the overrides set (e.g. {"rfm"})."""
    return {o.split("=", 1)[0].strip().split(".")[0] for o in overrides} & set(method_names())


def for_method(overrides: tuple[str, ...], method: str) -> list[str]:
    """The overrides that apply to `method`: all but those of another method's section."""
    others = method_sections(overrides) - {method}
    return [o for o in overrides if o.split("=", 1)[0].strip().split(".")[0] not in others]


def variants(spec: SweepSpec, method: str) -> list[tuple[str | None, tuple[str, ...]]]:
    """(ablation name or None for the base, its overrides) that apply to `method`."""
    found = [(None, ())] if spec.include_base else []
    for name, overrides in spec.ablations.items():
        named = method_sections(overrides)
        if not named or method in named:
            found.append((name, overrides))
    return found


def plan(spec: SweepSpec) -> list[PlannedRun]:
    """Every run of the sweep with its resolved config, in a fixed order; checks all configs."""
    runs = []
    for protocol in spec.protocols:
        for method in spec.methods:
            for ablation, extra in variants(spec, method):
                for seed in spec.seeds:
                    identity = [
                        f"method={json.dumps(method)}",
                        f"data.protocol={json.dumps(protocol)}",
                        f"train.seed={int(seed)}",
                    ]
                    overrides = for_method(spec.overrides + extra, method) + identity
                    config = resolve_config(spec.preset, overrides)
                    suffix = f"+{ablation}" if ablation else ""
                    name = f"{protocol}-{method}{suffix}-seed{seed}"
                    runs.append(PlannedRun(name, protocol, method, ablation, seed, config))
    return runs


def stored_config_matches(run_dir: Path, config: RunConfig) -> bool:
    stored = json.loads((run_dir / "config.json").read_text())
    stored.pop(RUNTIME_KEY, None)  # what the run ran on; a resume may run elsewhere
    return stored == json.loads(json.dumps(config.to_dict(), default=str))


def move_aside(run_dir: Path) -> Path:
    """Rename an interrupted run to `<name>.interrupted-<N>` with the smallest free N."""
    index = 1
    while (target := run_dir.with_name(f"{run_dir.name}.interrupted-{index}")).exists():
        index += 1
    run_dir.rename(target)
    log.warning("%s was interrupted; moved it aside to %s", run_dir, target.name)
    return target


def prepare_run_dir(run_dir: Path, config: RunConfig) -> str:
    """What to do with `run_dir`: "skip", "resume" or "train" (moving a stale run aside)."""
    if not (run_dir / "config.json").exists():
        return "train"
    same = stored_config_matches(run_dir, config)
    if (run_dir / "done.json").exists():
        if same:
            return "skip"
        raise SweepError(
            f"{run_dir} holds a finished run of a different config (was the sweep file "
            "changed?); move it away or choose another --out"
        )
    if same:
        return "resume"
    move_aside(run_dir)
    return "train"


OUTCOMES = {"skip": "skipped", "resume": "resumed", "train": "trained"}


def run_one(planned: PlannedRun, out: Path, progress: bool) -> str:
    """Train, resume or skip one planned run; returns "trained", "resumed" or "skipped"."""
    from metafas.training.loop import resume, train

    run_dir = out / planned.name
    action = prepare_run_dir(run_dir, planned.config)
    if action == "resume":
        resume(run_dir, progress=progress)
    elif action == "train":
        run_dir.mkdir(parents=True, exist_ok=True)
        keys = ("name", "protocol", "method", "ablation", "seed")
        atomic_write_json(run_dir / "sweep_run.json", {k: getattr(planned, k) for k in keys})
        train(planned.config, run_dir, progress=progress)
    return OUTCOMES[action]


def run_sweep(spec: SweepSpec, out: Path, progress: bool = True) -> dict[str, str]:
    """Run (or resume) every planned run under `out`; returns run name -> what was done.

    The sweep holds `out`'s lock (metafas.data.lock) throughout: a second sweep into the same
    `out` is refused instead of resuming or moving aside the runs the first one is training.
    """
    out = Path(out)
    runs = plan(spec)
    with directory_lock(out, "sweep directory"):
        return run_planned(spec, runs, out, progress)


def run_planned(spec: SweepSpec, runs: list[PlannedRun], out: Path, progress: bool) -> dict:
    atomic_write_json(out / "sweep.json", {"spec": asdict(spec), "runs": [r.name for r in runs]})
    outcome = {}
    for index, planned in enumerate(runs, start=1):
        started = time.perf_counter()
        outcome[planned.name] = run_one(planned, out, progress)
        seconds = time.perf_counter() - started
        log.info(
            "[%d/%d] %s: %s (%.0f s)",
            index,
            len(runs),
            planned.name,
            outcome[planned.name],
            seconds,
        )
    return outcome
