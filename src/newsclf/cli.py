"""Script plumbing: user errors become one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import os
import sys

from omegaconf.errors import InterpolationResolutionError, MissingMandatoryValue

from newsclf.errors import NewsclfError


def config_message(e: Exception) -> str:
    """An OmegaConf / Hydra config error as one line (they span several, with indented details)."""
    key = getattr(e, "full_key", None)
    if isinstance(e, MissingMandatoryValue) and key:
        return f"config: '{key}' has no value; pass {key}=... on the command line"
    lines = []
    for line in str(e).splitlines():
        if line.startswith(("Config search path", "    full_key", "    object_type")):
            break  # Hydra's search-path dump and OmegaConf's details add nothing for a user
        lines.append(line.strip())
    return "config: " + " ".join(x for x in lines if x) + (f" (key '{key}')" if key else "")


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
        except (MissingMandatoryValue, InterpolationResolutionError) as e:  # a '???' left unset, a bad ${...}
            print(f"newsclf: error: {config_message(e)}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("newsclf: interrupted", file=sys.stderr)
            sys.exit(130)
        except BrokenPipeError:  # e.g. `predict.py ... | head`
            sys.exit(0)

    return wrapper


def run(hydra_main, distributed: bool = False) -> None:
    """Call a ``@hydra.main`` function so that Hydra's own config errors are one line and exit 2 as well.

    Hydra reports a mistyped override or an unknown group option over several lines plus a hint about
    HYDRA_FULL_ERROR; with that variable set it raises instead, so we set it and print the error ourselves.
    A user who sets HYDRA_FULL_ERROR gets Hydra's full report untouched. Scripts: ``run(main)``.
    ``distributed=True`` (training) first points every rank of an ``accelerate launch`` / ``torchrun`` job at
    one run directory (``newsclf.training.distributed.shared_run_argv``).
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if distributed:
        from newsclf.training.distributed import prepare_launch

        try:
            prepare_launch()
        except NewsclfError as e:
            print(f"newsclf: error: {e}", file=sys.stderr)
            sys.exit(2)

    if os.environ.get("HYDRA_FULL_ERROR"):
        return hydra_main()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        return hydra_main()
    except (HydraException, OmegaConfBaseException) as e:
        print(f"newsclf: error: {config_message(e)}", file=sys.stderr)
        sys.exit(2)
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)
