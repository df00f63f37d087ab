from .mta import MTA

__all__ = ['MTA']
