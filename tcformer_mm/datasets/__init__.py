"""Data set helpers of tcformer_mm: errors that name a bad data file (``checks.py``)."""
from .checks import BadDataFile, DataFileNotFound, install_data_checks

__all__ = ['BadDataFile', 'DataFileNotFound', 'install_data_checks']
