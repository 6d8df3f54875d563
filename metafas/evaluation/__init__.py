"""Evaluation: scoring frames under named threshold rules, model selection, the paper-style
tables and the HTML report. The metrics themselves are the pure-numpy `metafas.metrics`."""
