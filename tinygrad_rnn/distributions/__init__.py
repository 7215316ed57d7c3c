"""Probability distributions, as torch.distributions (torch 2.13).

    dist = tr.distributions.Categorical(logits=model(x)[-1])    # (B, V) logits
    next_ids = dist.sample()                                    # (B,) int64, from the library's generator
    loss = -dist.log_prob(targets).mean()                       # differentiable in the logits

Univariate continuous (continuous.py): Normal, Uniform, Exponential, Laplace, LogNormal, Gamma, Beta, Cauchy,
StudentT, Chi2, FisherSnedecor; built by transforms (transformed_families.py): HalfNormal, HalfCauchy, Gumbel,
Weibull, Pareto, Kumaraswamy, InverseGamma, LogisticNormal; ContinuousBernoulli, VonMises, GeneralizedPareto (their
own files). Discrete (discrete.py): Categorical, OneHotCategorical(StraightThrough), Bernoulli, Geometric, Binomial,
Poisson, NegativeBinomial, Multinomial. Over vectors (multivariate.py): Dirichlet, MultivariateNormal,
LowRankMultivariateNormal, Independent; LKJCholesky, Wishart; MixtureSameFamily (mixture.py). Relaxed (relaxed.py):
RelaxedBernoulli, RelaxedOneHotCategorical (and their bases LogitRelaxedBernoulli, ExpRelaxedCategorical).
TransformedDistribution (transformed_distribution.py), the transforms (transforms.py), biject_to / transform_to
(constraint_registry.py); kl_divergence and register_kl (kl.py); constraints (constraints.py); torch's helpers
broadcast_all, probs_to_logits, lazy_property... (utils.py). ExponentialFamily (exp_family.py), the base of Normal,
Exponential, Gamma, Chi2, Beta, Dirichlet, Bernoulli, ContinuousBernoulli, Poisson and Wishart, as torch's: the
Bregman entropy and KL. As torch's, LogNormal, the relaxed pair and the families of transformed_families.py are
TransformedDistributions (isinstance, base_dist, transforms).

Parameters and results are Tensors on the tape: log_prob, entropy, the moments and rsample (where torch's
distribution is reparameterised) pass gradients to the parameters; sample() does not. The numbers drawn are
numpy's, from the library's generator (tr.manual_seed), not torch's. Arguments are checked as torch's
validate_args=True checks them (its default): a parameter outside its constraint or a value outside the support
is a ValueError in torch's words.
"""
from . import constraints, transforms, utils
from .constraint_registry import biject_to, transform_to
from .continuous import (
                                   Beta,
                                   Cauchy,
                                   Chi2,
                                   Exponential,
                                   FisherSnedecor,
                                   Gamma,
                                   Laplace,
                                   LogNormal,
                                   Normal,
                                   StudentT,
                                   Uniform,
)
from .continuous_bernoulli import ContinuousBernoulli
from .discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    Multinomial,
    NegativeBinomial,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .generalized_pareto import GeneralizedPareto
from .kl import kl_divergence, register_kl
from .lkj_cholesky import LKJCholesky
from .mixture import MixtureSameFamily
from .multivariate import Dirichlet, Independent, LowRankMultivariateNormal, MultivariateNormal
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transformed_families import (
                                   Gumbel,
                                   HalfCauchy,
                                   HalfNormal,
                                   InverseGamma,
                                   Kumaraswamy,
                                   LogisticNormal,
                                   Pareto,
                                   Weibull,
)
from .transforms import (
                                   AbsTransform,
                                   AffineTransform,
                                   CatTransform,
                                   ComposeTransform,
                                   CorrCholeskyTransform,
                                   CumulativeDistributionTransform,
                                   ExpTransform,
                                   IndependentTransform,
                                   LowerCholeskyTransform,
                                   PositiveDefiniteTransform,
                                   PowerTransform,
                                   ReshapeTransform,
                                   SigmoidTransform,
                                   SoftmaxTransform,
                                   SoftplusTransform,
                                   StackTransform,
                                   StickBreakingTransform,
                                   TanhTransform,
                                   Transform,
                                   identity_transform,
)
from .von_mises import VonMises
from .wishart import Wishart

__all__ = ["Distribution", "ExponentialFamily", "constraints", "utils",
           "Normal", "Uniform", "Exponential", "Laplace", "LogNormal", "Gamma", "Beta",
           "Categorical", "OneHotCategorical", "Bernoulli", "Geometric", "Binomial", "Poisson", "Dirichlet",
           "MultivariateNormal", "Independent", "RelaxedBernoulli", "RelaxedOneHotCategorical", "kl_divergence",
           "register_kl", "Cauchy", "StudentT", "Chi2", "FisherSnedecor", "HalfNormal", "HalfCauchy", "Gumbel",
           "Weibull",
           "Pareto", "Kumaraswamy", "InverseGamma", "LogisticNormal", "TransformedDistribution", "transforms",
           "biject_to", "transform_to", "Transform", "ComposeTransform", "identity_transform", "IndependentTransform",
           "ReshapeTransform", "ExpTransform", "PowerTransform", "SigmoidTransform", "SoftplusTransform",
           "TanhTransform", "AbsTransform", "AffineTransform", "CorrCholeskyTransform", "SoftmaxTransform",
           "StickBreakingTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform", "CatTransform",
           "StackTransform", "CumulativeDistributionTransform", "NegativeBinomial", "LowRankMultivariateNormal",
           "MixtureSameFamily", "ContinuousBernoulli", "VonMises", "Multinomial",
           "OneHotCategoricalStraightThrough", "GeneralizedPareto", "LKJCholesky", "Wishart"]
