"""What every command line of the package shares: a user's mistake ends in one ``error:`` line.

A bad parameter, a missing or damaged file (``ValueError``, ``OSError``, ``tarfile.TarError``; the
messages name the flag or file concerned) is printed as ``error: <message>`` on stderr and the command
exits with status 1, without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
import tarfile
from typing import Callable

USER_ERRORS = (ValueError, OSError, tarfile.TarError)


def one_line_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a command line's ``main``: a :data:`USER_ERRORS` exception becomes one ``error:`` line and exit status 1."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as e:
            print(f"error: {e}", file=sys.stderr)
            return 1

    return wrapped
