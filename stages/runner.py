"""What every stage shares when it runs as a command: logging and one-line failures."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from stages.params import ParamsError

log = logging.getLogger("stages")


class StageError(RuntimeError):
    """A failure the user can fix; its message says how."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's `main`, turning expected failures into one log line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    started = time.perf_counter()
    try:
        main()
    except (ParamsError, StageError) as error:
        log.error("%s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        log.error("interrupted; this stage's outputs are incomplete: `dvc repro` runs it again"
                  " (the train stage resumes from its last finished epoch)")
        sys.exit(130)
    log.info("done in %.1f s (after imports)", time.perf_counter() - started)
