"""Script plumbing: user errors become one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import os
import sys

from newsclf.errors import NewsclfError


def guard(fn):
    """Wrap a script's task function: NewsclfError / bad files → ``newsclf: error: ...``, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub unless the user asks
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            return fn(*args, **kwargs)
        except NewsclfError as e:
            print(f"newsclf: error: {e}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("newsclf: interrupted", file=sys.stderr)
            sys.exit(130)
        except BrokenPipeError:  # e.g. `predict.py ... | head`
            sys.exit(0)

    return wrapper
