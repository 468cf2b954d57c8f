"""Datasets for training: built-in and downloadable sets, files on disk, splits,
normalisation, augmentation and the checks the UI shows before a run.

>>> ds = load_dataset("digits", size=28)
>>> train, val = split_dataset(ds, val_fraction=0.2)
>>> norm = Normalizer.fit(train.x)
"""

from .builtin import resize_images
from .core import DataError, DatasetArrays
from .downloads import REMOTES, dataset_folder, default_cache_dir
from .formats import parse_idx, read_idx
from .loader import (
    accepted_options,
    dataset_key,
    is_named_dataset,
    list_builtin_datasets,
    load_dataset,
)
from .summary import check_input_shape, preview, split_dataset
from .transforms import Augment, Normalizer

__all__ = [
    "accepted_options",
    "REMOTES",
    "Augment",
    "DataError",
    "DatasetArrays",
    "Normalizer",
    "check_input_shape",
    "dataset_folder",
    "dataset_key",
    "default_cache_dir",
    "is_named_dataset",
    "list_builtin_datasets",
    "load_dataset",
    "parse_idx",
    "preview",
    "read_idx",
    "resize_images",
    "split_dataset",
]
