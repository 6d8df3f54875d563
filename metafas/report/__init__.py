"""HTML reports of runs and sweeps: curves, histograms, training curves, confident mistakes."""

from metafas.report.build import write_report

__all__ = ["write_report"]
