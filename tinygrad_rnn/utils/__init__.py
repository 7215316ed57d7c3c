"""tr.utils, as torch.utils: `tr.utils._data` holds the datasets, samplers and the DataLoader."""
from . import data

__all__ = ["data"]
