"""metafas: domain-generalizing face anti-spoofing with Regularized Fine-grained Meta-learning."""

__version__ = "0.1.0"
