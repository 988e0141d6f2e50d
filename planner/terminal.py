"""The one progress line a command keeps on the terminal (stderr): rewritten in place with
a carriage return, and ended with a newline before anything else is said, so that a line
printed while it is open (the word "interrupted" after Ctrl-C) starts on its own."""
from __future__ import annotations

import sys
import threading

_lock = threading.Lock()
_open = False


def progress_line(text: str) -> None:
    """Show `text` as the progress line, over the previous one."""
    global _open
    with _lock:
        _open = _written(f"\r{text}") or _open


def end_line() -> None:
    """End the progress line, if one is shown (nothing otherwise)."""
    global _open
    with _lock:
        if _open:
            _written("\n")
            _open = False


def _written(text: str) -> bool:
    """Whether `text` reached stderr (a closed or broken stderr changes nothing)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
        return True
    except (OSError, ValueError):
        return False
