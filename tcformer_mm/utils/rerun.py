"""A tool that runs itself again in a fresh process, with a hidden flag, to measure one thing.

Peak memory (``ru_maxrss`` only grows) and evaluations after training need a process of their
own: the tool reruns its script with a flag of its own (``--memory-probe``, ``--probe``,
``--evaluate``) that makes it print one JSON line as its result, and reads that line back.
"""
import json
import os.path as osp
import subprocess
import sys
from typing import List, Sequence


def rerun_command(script: str, *args) -> List[str]:
    """The command that runs the tool ``script`` (its ``__file__``) with ``args`` in a fresh
    interpreter, the one running now."""
    return [sys.executable, osp.abspath(script), *map(str, args)]


def json_result(output: str, mark: str = '') -> dict:
    """The JSON object of the last line of ``output`` that starts with ``mark`` (a mark sets it
    apart from the log lines around it), the mark left out."""
    lines = [line for line in output.strip().splitlines() if line.startswith(mark)]
    return json.loads(lines[-1][len(mark):])


def run_probe(script: str, args: Sequence, what: str) -> dict:
    """Run the tool ``script`` again with ``args`` (:func:`rerun_command`) and return the JSON
    object that the last line of its output holds.

    Raises:
        RuntimeError: If it fails; the message says that ``what`` failed, then the end of its
            error output.
    """
    result = subprocess.run(rerun_command(script, *args), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{what} failed:\n{result.stderr[-3000:]}')
    return json_result(result.stdout)
