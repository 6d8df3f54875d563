"""Named train/test protocols: which domains are sources, which one is the unseen target, and
which splits of each serve training, source validation and testing.

Two split conventions (a protocol's `convention` names the one it follows):
    strict (default, the plain names such as `OCI_M`):
        sources: the "train" split only; a fixed share of its subjects is held out as source
                 validation ("source_val"), never frames of a training video;
        target:  the "test" split only.
    paper (names with the suffix `@paper`, such as `OCI_M@paper`): what the public code of the
        benchmark does (SSDG, Jia et al. CVPR 2020, `data_label/generate_label.py` and
        `utils/get_loader.py`; RFM's own lists were not published):
        sources: every video except the development splits (Replay-Attack `devel`, OULU-NPU
                 `Dev_files`), i.e. "train" + "test"; the held-out subjects still give the
                 source validation here (SSDG has none: it keeps the checkpoint with the best
                 target HTER, which metafas calls `oracle`);
        target:  the same "train" + "test" videos of the target.
User protocols come from a TOML file (`load_protocols`), passed to `get_protocol`.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from metafas.data.toml_file import read_toml

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Convention:
    """Which splits of the sources train (and validate) and which of the target test."""

    source_splits: tuple[str, ...]
    target_splits: tuple[str, ...]
    summary: str


CONVENTIONS: dict[str, Convention] = {
    "strict": Convention(
        ("train",), ("test",), "sources: train split; target: test split (official test sets)"
    ),
    "paper": Convention(
        ("train", "test"),
        ("train", "test"),
        "sources and target: every video but the dev splits (SSDG public code)",
    ),
}
PAPER_SUFFIX = "@paper"


@dataclass(frozen=True)
class Protocol:
    """Sources, target, and which of their splits serve training and testing.

    Source validation is always a held-out share of the subjects of `source_splits`.
    `convention` names the split rule followed ("strict", "paper" or "custom").
    """

    sources: tuple[str, ...]
    target: str
    source_splits: tuple[str, ...] = ("train",)
    target_splits: tuple[str, ...] = ("test",)
    convention: str = "strict"

    def __post_init__(self):
        if len(self.sources) < 1:
            raise ValueError("a protocol needs at least one source domain")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"a source is repeated: {', '.join(self.sources)}")
        if self.target in self.sources:
            raise ValueError(f"target {self.target!r} is also a source: {', '.join(self.sources)}")
        if not self.source_splits or not self.target_splits:
            raise ValueError("source_splits and target_splits must each name at least one split")

    def to_dict(self) -> dict:
        """A JSON-ready description, for run records."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def with_convention(sources: tuple[str, ...], target: str, convention: str) -> Protocol:
    rule = CONVENTIONS[convention]
    return Protocol(sources, target, rule.source_splits, rule.target_splits, convention)


def leave_one_out(prefix: str, names: dict[str, str], key: str, convention="strict") -> Protocol:
    """key like 'OCI_M': letters of the sources, underscore, letter of the target."""
    sources, target = key.split("_")
    return with_convention(
        tuple(prefix + names[s] for s in sources), prefix + names[target], convention
    )


SIM_LETTERS = {"O": "o", "C": "c", "I": "i", "M": "m"}
REAL_NAMES = {"O": "oulu_npu", "C": "casia_fasd", "I": "replay_attack", "M": "msu_mfsd"}
BENCHMARK_TASKS = ("OCI_M", "OMI_C", "OCM_I", "ICM_O", "MI_C", "MI_O")

PROTOCOLS: dict[str, Protocol] = {
    **{f"sim_{k}": leave_one_out("sim_", SIM_LETTERS, k) for k in BENCHMARK_TASKS},
    **{k: leave_one_out("", REAL_NAMES, k) for k in BENCHMARK_TASKS},
    **{k + PAPER_SUFFIX: leave_one_out("", REAL_NAMES, k, "paper") for k in BENCHMARK_TASKS},
    # NUAA sessions as domains (`metafas prepare nuaa`): sessions 1-2 are "train", 3 "test".
    "NUAA_12_3": Protocol(("nuaa_s1", "nuaa_s2"), "nuaa_s3"),
}

PROTOCOL_KEYS = {"sources", "target", "source_splits", "target_splits", "convention"}


class ProtocolFileError(ValueError):
    """A protocols TOML file is missing or malformed."""


def load_protocols(path: str | Path) -> dict[str, Protocol]:
    """Read user protocols from a TOML file with one `[protocols.NAME]` table per protocol:

        [protocols.SITES_AB_C]
        sources = ["site_a", "site_b"]
        target = "site_c"
        convention = "strict"          # or "paper"; or give the splits instead:
        # source_splits = ["train"]    # then the convention is "custom"
        # target_splits = ["test"]

    Raises:
        ProtocolFileError: missing or unreadable file, bad TOML (naming its line and column),
            unknown keys, or a built-in name reused.
    """
    path = Path(path)
    if not path.exists():
        raise ProtocolFileError(f"protocols file not found: {path}")
    data = read_toml(path, ProtocolFileError)
    extra = set(data) - {"protocols"}
    if extra or not isinstance(data.get("protocols"), dict) or not data["protocols"]:
        raise ProtocolFileError(
            f"{path}: expected only [protocols.NAME] tables"
            + (f"; unexpected top-level keys: {', '.join(sorted(extra))}" if extra else "")
        )
    return {name: _parse_protocol(path, name, table) for name, table in data["protocols"].items()}


def _parse_protocol(path: Path, name: str, table: object) -> Protocol:
    where = f"{path}: protocol {name!r}"
    if name in PROTOCOLS:
        raise ProtocolFileError(f"{where} is a built-in protocol; choose another name")
    if not isinstance(table, dict):
        raise ProtocolFileError(f"{where} must be a table ([protocols.{name}])")
    unknown = set(table) - PROTOCOL_KEYS
    if unknown:
        known = ", ".join(sorted(PROTOCOL_KEYS))
        raise ProtocolFileError(f"{where}: unknown keys {sorted(unknown)}; known: {known}")
    if not isinstance(table.get("sources"), list) or not isinstance(table.get("target"), str):
        raise ProtocolFileError(f"{where} needs sources = [names] and target = name")
    try:
        return _build(table)
    except (ValueError, TypeError) as err:
        raise ProtocolFileError(f"{where}: {err}") from err


def _build(table: dict) -> Protocol:
    sources, target = tuple(table["sources"]), table["target"]
    splits = {k: tuple(table[k]) for k in ("source_splits", "target_splits") if k in table}
    convention = table.get("convention", "custom" if splits else "strict")
    if convention == "custom":
        return Protocol(sources, target, **splits, convention="custom")
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; known: custom, {', '.join(CONVENTIONS)}"
        )
    if splits:
        raise ValueError(f"convention {convention!r} fixes the splits; give one or the other")
    return with_convention(sources, target, convention)


def available_protocols(protocols_file: str | Path | None = None) -> dict[str, Protocol]:
    """The built-in protocols, plus those of `protocols_file` when given."""
    return {**PROTOCOLS, **(load_protocols(protocols_file) if protocols_file else {})}


def get_protocol(name: str, protocols_file: str | Path | None = None) -> Protocol:
    """A built-in protocol, or one defined in `protocols_file` (see `load_protocols`).

    A given file is always read and checked, whichever protocol is asked for, so that a
    broken file or one redefining a built-in name is refused rather than ignored.
    """
    known = available_protocols(protocols_file)
    if name not in known:
        hint = "" if protocols_file else " (user protocols need a protocols file)"
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(known)}{hint}")
    return known[name]


def format_protocols(protocols: dict[str, Protocol] | None = None) -> str:
    """One line per protocol: sources with their splits, target with its splits."""
    lines = []
    for name, p in (protocols or PROTOCOLS).items():
        sources = ", ".join(p.sources)
        lines.append(
            f"{name:<14} {p.convention:<7} train+val: {sources} [{'+'.join(p.source_splits)}]"
            f"  test: {p.target} [{'+'.join(p.target_splits)}]"
        )
    return "\n".join(lines)
