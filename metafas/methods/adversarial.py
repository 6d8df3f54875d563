"""Gradient reversal (Ganin & Lempitsky, ICML 2015), shared by the adversarial methods."""

import torch


class GradientReversal(torch.autograd.Function):
    """Identity forward; the backward multiplies the gradient by -coefficient, so that a
    feature extractor maximises the loss that a discriminator behind it minimises."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, coefficient: float) -> torch.Tensor:
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coefficient * grad, None


def known_source_domains(method) -> int:
    """The method's number of source domains, which sizes its discriminators."""
    if method.source_domains is None:
        raise ValueError(
            f"{method.name} sizes its discriminators by the number of source domains: build it "
            "with source_domains=N (metafas.training.runs.build_method passes the protocol's)"
        )
    return method.source_domains
