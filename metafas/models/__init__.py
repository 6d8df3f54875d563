"""Networks: DepthNet (F, D, M) and the colour input."""

from metafas.models.depthnet import (
    DepthEstimator,
    DepthNet,
    DepthNetConfig,
    FeatureExtractor,
    MetaLearner,
)

__all__ = ["DepthEstimator", "DepthNet", "DepthNetConfig", "FeatureExtractor", "MetaLearner"]
