"""Sweeps: protocols x methods x seeds (x ablations) from one TOML file, resumable.

A sweep file:
    preset = "cpu"                        # a preset name or a TOML file (relative to this file)
    protocols = ["sim_OCI_M", "sim_OMI_C"]
    methods = ["deepall", "rfm"]
    seeds = [0, 1, 2]
    overrides = ["train.steps=200"]       # applied to every run (optional)
    include_base = true                   # also run without any ablation (optional, default)
    [protocol_overrides]                  # applied to the runs of one protocol (optional)
    sim_OMI_C = ["train.k=4"]
    [ablations]                           # named override sets (optional)
    first_order = ["rfm.first_order=true"]
    [ablations.no_depth]                  # or a table, narrowing its seeds and protocols
    overrides = ["rfm.depth_weight=0"]
    seeds = [0, 1]                        # default: the sweep's seeds
    protocols = ["sim_OCI_M"]             # default: the sweep's protocols

Overrides of a method's own section (e.g. `rfm.`) only apply to that method, and an ablation
made of such overrides only runs for the methods it names. Overrides apply in the order
sweep, protocol, ablation, so an ablation wins. Each run goes to
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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from metafas.data.atomic import atomic_write_json
from metafas.data.lock import directory_lock
from metafas.methods import method_names
from metafas.training.config import RUNTIME_KEY, RunConfig, read_toml, resolve_config

log = logging.getLogger(__name__)

SPEC_KEYS = (
    "preset",
    "protocols",
    "methods",
    "seeds",
    "overrides",
    "include_base",
    "protocol_overrides",
    "ablations",
)
ABLATION_KEYS = ("overrides", "seeds", "protocols")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


class SweepError(ValueError):
    """A sweep file is invalid, or an output directory holds a conflicting run."""


@dataclass(frozen=True)
class Ablation:
    """A named set of overrides; `seeds` and `protocols` narrow where it runs (empty: all)."""

    overrides: tuple[str, ...]
    seeds: tuple[int, ...] = ()
    protocols: tuple[str, ...] = ()


BASE = Ablation(())


@dataclass(frozen=True)
class SweepSpec:
    """What to run: the product of protocols, methods, seeds and variants (base + ablations)."""

    protocols: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    include_base: bool = True
    ablations: dict[str, Ablation] = field(default_factory=dict)
    protocol_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("protocols", "methods", "seeds"):
            if not getattr(self, name):
                raise SweepError(f"sweep needs a non-empty list `{name}`")
        bad = [name for name in self.ablations if not NAME_PATTERN.match(name)]
        if bad:
            raise SweepError(f"ablation names must be letters, digits or _; got {bad}")
        if not self.include_base and not self.ablations:
            raise SweepError("include_base = false needs at least one [ablations] entry")
        ablations = {  # a plain list of overrides is an Ablation too
            name: a if isinstance(a, Ablation) else Ablation(tuple(a))
            for name, a in self.ablations.items()
        }
        object.__setattr__(self, "ablations", ablations)
        self.check_protocols()

    def check_protocols(self) -> None:
        """Protocols named by [protocol_overrides] or an ablation must be the sweep's."""
        named = {"[protocol_overrides]": list(self.protocol_overrides)}
        named |= {f"ablation {n!r}": list(a.protocols) for n, a in self.ablations.items()}
        for where, protocols in named.items():
            unknown = [p for p in protocols if p not in self.protocols]
            if unknown:
                raise SweepError(
                    f"{where} names protocols {unknown} that the sweep does not run; "
                    f"its protocols: {', '.join(self.protocols)}"
                )


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
    ablations = raw.get("ablations", {})
    if not isinstance(ablations, dict):
        raise SweepError(f"[ablations] in {path} must map names to lists of overrides or tables")
    return SweepSpec(
        protocols=tuple(raw.get("protocols", ())),
        methods=tuple(raw.get("methods", ())),
        seeds=whole_numbers(raw.get("seeds", ()), f"seeds in {path}"),
        preset=preset,
        overrides=tuple(raw.get("overrides", ())),
        include_base=bool(raw.get("include_base", True)),
        ablations={
            name: read_ablation(v, f"{path} ablation {name!r}") for name, v in ablations.items()
        },
        protocol_overrides=string_lists(
            raw.get("protocol_overrides", {}), f"{path} [protocol_overrides]"
        ),
    )


def whole_numbers(seeds, where: str) -> tuple[int, ...]:
    if not isinstance(seeds, list) or not all(type(seed) is int for seed in seeds):
        raise SweepError(f"{where} must be a list of whole numbers, got {seeds!r}")
    return tuple(seeds)


def string_lists(table, where: str) -> dict[str, tuple[str, ...]]:
    """A TOML table of name -> list of strings (protocol overrides)."""
    if not isinstance(table, dict) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in table.values()
    ):
        raise SweepError(f"{where} must map names to lists of overrides (strings)")
    return {name: tuple(values) for name, values in table.items()}


def read_ablation(value, where: str) -> Ablation:
    """An ablation as a list of overrides, or a table of overrides, seeds and protocols."""
    if isinstance(value, list):
        value = {"overrides": value}
    if not isinstance(value, dict):
        raise SweepError(f"{where} must be a list of overrides or a table")
    unknown = sorted(set(value) - set(ABLATION_KEYS))
    if unknown or "overrides" not in value:
        raise SweepError(
            f"{where} needs `overrides` and allows only {', '.join(ABLATION_KEYS)}; "
            f"got {sorted(value)}"
        )
    lists = string_lists({k: value.get(k, []) for k in ("overrides", "protocols")}, where)
    seeds = whole_numbers(value.get("seeds", []), f"seeds of {where}")
    return Ablation(lists["overrides"], seeds, lists["protocols"])


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


def variants(spec: SweepSpec, method: str, protocol: str) -> list[tuple[str | None, Ablation]]:
    """(ablation name or None for the base, the ablation) that run for `method` on `protocol`."""
    found = [(None, BASE)] if spec.include_base else []
    for name, ablation in spec.ablations.items():
        named = method_sections(ablation.overrides)
        if (not named or method in named) and protocol in (ablation.protocols or spec.protocols):
            found.append((name, ablation))
    return found


def plan(spec: SweepSpec) -> list[PlannedRun]:
    """Every run of the sweep with its resolved config, in a fixed order; checks all configs."""
    runs = []
    for protocol in spec.protocols:
        shared = spec.overrides + spec.protocol_overrides.get(protocol, ())
        for method in spec.methods:
            for name, ablation in variants(spec, method, protocol):
                for seed in ablation.seeds or spec.seeds:
                    identity = [
                        f"method={json.dumps(method)}",
                        f"data.protocol={json.dumps(protocol)}",
                        f"train.seed={int(seed)}",
                    ]
                    overrides = for_method(shared + ablation.overrides, method) + identity
                    config = resolve_config(spec.preset, overrides)
                    run_name = f"{protocol}-{method}{f'+{name}' if name else ''}-seed{seed}"
                    runs.append(PlannedRun(run_name, protocol, method, name, seed, config))
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
    """Each run in turn under a progress bar over runs, logging each outcome and the ETA."""
    atomic_write_json(out / "sweep.json", {"spec": asdict(spec), "runs": [r.name for r in runs]})
    outcome, timed = {}, []
    bar = tqdm(
        total=len(runs),
        desc="sweep",
        unit="run",
        disable=not progress,
        bar_format="{desc}: {n_fmt}/{total_fmt} runs |{bar}| {elapsed}{postfix}",
    )
    for index, planned in enumerate(runs, start=1):
        started = time.perf_counter()
        outcome[planned.name] = run_one(planned, out, progress)
        seconds = time.perf_counter() - started
        if outcome[planned.name] != "skipped":
            timed.append((planned.config.train.steps, seconds))
        eta = format_eta(eta_seconds(timed, [r.config.train.steps for r in runs[index:]]))
        bar.set_postfix_str(f"ETA {eta}", refresh=False)
        bar.update()
        what = f"{planned.name}: {outcome[planned.name]} ({seconds:.0f} s); ETA {eta}"
        log.info("[%d/%d] %s", index, len(runs), what)
    bar.close()
    return outcome


def eta_seconds(timed: list[tuple[int, float]], remaining_steps: list[int]) -> float | None:
    """Seconds left: the remaining runs' steps at the seconds per step of the runs trained so
    far (skipped runs take no time and would make the rate a lie); None before any."""
    steps = sum(s for s, _ in timed)
    if not steps:
        return None if remaining_steps else 0.0
    return sum(seconds for _, seconds in timed) / steps * sum(remaining_steps)


def format_eta(seconds: float | None) -> str:
    """'1 h 05 min', '12 min', '40 s', or 'unknown' before the first trained run."""
    if seconds is None:
        return "unknown"
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
