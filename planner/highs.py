"""HiGHS instances without its banner: highspy prints one on stdout (fd 1) whenever a
`Highs` is made, whatever its options say, which would mix into the command's output."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_stdout(enabled: bool = True):
    """Send fd 1 to /dev/null: HiGHS prints its banner there whatever its options say."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def quiet_highs():
    """A `highspy.Highs` that prints nothing (no banner, no log)."""
    import highspy

    with quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs
