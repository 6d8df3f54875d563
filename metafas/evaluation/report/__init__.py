"""HTML reports of runs and sweeps: curves, histograms, training curves, confident mistakes."""

from metafas.evaluation.report.build import write_report

__all__ = ["write_report"]
