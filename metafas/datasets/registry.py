"""The table of database readers, by name."""

from __future__ import annotations

from metafas.datasets import casia_fasd, folder, msu_mfsd, nuaa, oulu_npu, replay_attack
from metafas.datasets.records import DatasetReader

READERS: dict[str, DatasetReader] = {
    reader.name: reader
    for reader in (
        oulu_npu.READER,
        casia_fasd.READER,
        replay_attack.READER,
        msu_mfsd.READER,
        nuaa.READER,
        folder.READER,
    )
}


def get_reader(dataset: str) -> DatasetReader:
    """The reader registered as `dataset`; a ValueError names the known ones otherwise."""
    if dataset not in READERS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(READERS))}")
    return READERS[dataset]
