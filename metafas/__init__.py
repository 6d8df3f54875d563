"""metafas: domain-generalizing face anti-spoofing with Regularized Fine-grained Meta-learning.

    import metafas
    detector = metafas.load("runs/demo/rfm")  # a run, a checkpoint or an export
    result = detector.score("face.jpg")

`load`, `Detector` and `Result` (metafas.deploy.detector) and `__version__` are imported on first
use, so that `import metafas` (and every light module such as metafas.extras) stays cheap: no
torch until a model is loaded.
"""

_API = ("load", "Detector", "Result")


def __getattr__(name: str):
    if name in _API:
        from metafas.deploy import detector

        return getattr(detector, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("metafas")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'metafas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API, "__version__"])
