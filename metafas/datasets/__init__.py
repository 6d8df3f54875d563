"""Readers for the original layouts of face anti-spoofing databases (scan only, no decoding)."""

from metafas.datasets.casia_fasd import casia_quality
from metafas.datasets.oulu_protocols import OULU_PROTOCOLS, oulu_protocol
from metafas.datasets.records import DatasetReader, ScanResult, VideoRecord
from metafas.datasets.registry import READERS, get_reader
from metafas.datasets.report import format_scan
from metafas.datasets.scan import scan

__all__ = [
    "OULU_PROTOCOLS",
    "READERS",
    "DatasetReader",
    "ScanResult",
    "VideoRecord",
    "casia_quality",
    "format_scan",
    "get_reader",
    "oulu_protocol",
    "scan",
]
