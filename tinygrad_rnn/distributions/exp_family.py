"""ExponentialFamily, as torch.distributions.ExponentialFamily (torch 2.13): the base of the families whose density
is exp(<t(x), theta> - F(theta) + k(x)) (natural parameters theta, sufficient statistic t, log-normaliser F,
carrier measure k). A family gives `_natural_params`, `_log_normalizer(*theta)` and `_mean_carrier_measure` (E[k(x)]),
and gets from here the entropy as a Bregman divergence of F (Nielsen and Nock), and (kl.py) the KL divergence
between two members of the same family, both through the gradient of F taken on the tape.

torch takes that gradient with create_graph=True; this library's tape does not record a backward pass, so the
gradient is a constant here. Nothing the user can reach differs: torch, too, differentiates F at detached copies
of the natural parameters, so no gradient of the entropy reaches the distribution's parameters (but through
_mean_carrier_measure), and KL's gradient reaches q's parameters through F(theta_q) and theta_q alone."""
from __future__ import annotations

from ..autograd import grad
from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """The abstract base of exponential families (Normal, Exponential, Gamma, Chi2, Beta, Dirichlet, Bernoulli,
    ContinuousBernoulli, Poisson, Wishart derive from it, as torch's). A subclass defines:

    - `_natural_params`: a property, the tuple of natural-parameter Tensors theta;
    - `_log_normalizer(*theta)`: F(theta), of batch shape, in Tensor operations (differentiated on the tape);
    - `_mean_carrier_measure`: E[k(x)] (a number or a Tensor), which entropy() needs.
    """

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)] (torch's Bregman form; the closed forms the families
        define instead are equal to it)."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = log_normalizer_gradients(lg_normal, nparams)
        result = result + lg_normal
        for theta, g in zip(nparams, gradients):
            result = result - (theta * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result


def log_normalizer_gradients(lg_normal: Tensor, nparams: list[Tensor]) -> tuple[Tensor, ...]:
    """grad F at the (detached, requiring grad) natural parameters; the graph is kept, since lg_normal is part
    of the result (torch's create_graph=True keeps it too)."""
    return grad(lg_normal.sum(), nparams, retain_graph=True)
