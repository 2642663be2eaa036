"""The IPE catalog: item definitions as data, loaded with located errors."""

from .model import Catalog, ItemSpec, OutputColumn, ParameterSpec
from .loader import load_catalog, default_pack

__all__ = ["Catalog", "ItemSpec", "OutputColumn", "ParameterSpec", "load_catalog", "default_pack"]
