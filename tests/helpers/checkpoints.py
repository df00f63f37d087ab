"""A checkpoint that runs a command when unpickled in full, for the tests that it never does."""
import os

import torch


class RunsCommand:
    """Unpickles as ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def write_evil(path, marker, legacy=False):
    """A checkpoint that looks like weights and touches ``marker`` when unpickled in full."""
    torch.save(dict(state_dict={'w': torch.ones(2)},
                    meta=dict(note=RunsCommand(f'touch {marker}'))),
               path,
               _use_new_zipfile_serialization=not legacy)
