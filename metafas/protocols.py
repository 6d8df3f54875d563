"""Named train/test protocols: which domains are sources and which one is the unseen target.

Splits used by every protocol (the strict convention, the default):
    sources: the domain's "train" split; a fixed share of its subjects is held out as
             source validation ("source_val"), never frames of a training video;
    target:  the target domain's "test" split only.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Protocol:
    """Sources, target, and which of their splits serve training and testing."""

    sources: tuple[str, ...]
    target: str
    source_splits: tuple[str, ...] = ("train",)
    target_splits: tuple[str, ...] = ("test",)

    def __post_init__(self):
        if len(self.sources) < 1:
            raise ValueError("a protocol needs at least one source domain")
        if self.target in self.sources:
            raise ValueError(f"target {self.target!r} is also a source: {', '.join(self.sources)}")


def leave_one_out(prefix: str, names: dict[str, str], key: str) -> Protocol:
    """key like 'OCI_M': letters of the sources, underscore, letter of the target."""
    sources, target = key.split("_")
    return Protocol(tuple(prefix + names[s] for s in sources), prefix + names[target])


SIM_LETTERS = {"O": "o", "C": "c", "I": "i", "M": "m"}
REAL_NAMES = {"O": "oulu_npu", "C": "casia_fasd", "I": "replay_attack", "M": "msu_mfsd"}
BENCHMARK_TASKS = ("OCI_M", "OMI_C", "OCM_I", "ICM_O", "MI_C", "MI_O")

PROTOCOLS: dict[str, Protocol] = {
    **{f"sim_{k}": leave_one_out("sim_", SIM_LETTERS, k) for k in BENCHMARK_TASKS},
    **{k: leave_one_out("", REAL_NAMES, k) for k in BENCHMARK_TASKS},
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
