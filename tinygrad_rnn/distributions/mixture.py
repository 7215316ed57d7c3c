"""MixtureSameFamily, as torch's (torch 2.13): a Categorical over K components and a component distribution whose
last batch dim is K; log_prob is the logsumexp of the components' weighted by the mixing log-probabilities, the
moments the laws of total mean and variance. Not reparameterised (the choice of component is discrete)."""
from __future__ import annotations

import numpy as np

from ..tape import no_grad
from ..tensor import Tensor
from . import constraints
from .discrete import Categorical
from .distribution import Distribution, constant

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """MixtureSameFamily(mixture_distribution, component_distribution, validate_args=None): draw a component from
    the Categorical, then a value from it."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        mdbs, cdbs = tuple(mixture_distribution.batch_shape), tuple(component_distribution.batch_shape[:-1])
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` (torch.Size({list(mdbs)})) is not compatible "
                                 f"with `component_distribution.batch_shape`(torch.Size({list(cdbs)}))")
        km, kc = mixture_distribution.logits.shape[-1], component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = MixtureSameFamily.__new__(MixtureSameFamily)
        new.__dict__.update(self.__dict__)
        batch_shape = tuple(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._batch_shape = batch_shape
        return new

    support = property(lambda self: constraints.MixtureSameFamilyConstraint(self._component_distribution.support))
    mixture_distribution = property(lambda self: self._mixture_distribution)
    component_distribution = property(lambda self: self._component_distribution)

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        dist_batch_ndims, cat_batch_ndims = len(self._batch_shape), len(self._mixture_distribution.batch_shape)
        pad_ndims = 0 if cat_batch_ndims == 1 else dist_batch_ndims - cat_batch_ndims
        xs = tuple(x.shape)
        return x.reshape(xs[:-1] + (1,) * pad_ndims + xs[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        components = self._component_distribution
        mean_cond_var = (probs * components.variance).sum(-1 - self._event_ndims)
        var_cond_mean = (probs * (components.mean - self._pad(self.mean)) ** 2.0).sum(-1 - self._event_ndims)
        return mean_cond_var + var_cond_mean

    def cdf(self, x) -> Tensor:
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x) -> Tensor:
        x = self._value(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_mix_prob = self._mixture_distribution.logits.log_softmax(-1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """Every component drawn, then the chosen one's draw kept (torch's gather)."""
        with no_grad():
            gather_dim = len(tuple(sample_shape)) + len(self._batch_shape)
            mix = self._mixture_distribution.sample(sample_shape)._data
            components = self._component_distribution.sample(sample_shape)
            index = mix.reshape(mix.shape + (1,) * (self._event_ndims + 1))
            index = np.broadcast_to(index, mix.shape + (1,) + tuple(self._event_shape))
            return components.gather(gather_dim, constant(np.ascontiguousarray(index))).squeeze(gather_dim)

    def __repr__(self) -> str:
        return f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  {self._component_distribution!r})"
