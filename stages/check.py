"""Check stage: validate the whole of params.yaml before any other stage runs.

DVC deletes a stage's outputs just before it runs the stage, so a bad value found by the stage
itself would cost that stage's last good outputs. Every stage depends on this one, which DVC
runs first whenever params.yaml changes: a bad value stops `dvc repro` here, with the outputs
of every other stage untouched. Valid params write the same marker file each time, so the
stages after it rerun only for the keys they read themselves.
"""

from __future__ import annotations

import logging

from stages import paths
from stages.params import PARAMS_FILE, load_params
from stages.runner import run_stage

log = logging.getLogger("stages.check")

MARKER_TEXT = f"{PARAMS_FILE} passed validation\n"


def main() -> None:
    load_params()
    paths.PARAMS_CHECKED.parent.mkdir(parents=True, exist_ok=True)
    paths.PARAMS_CHECKED.write_text(MARKER_TEXT, encoding="utf-8")
    log.info("%s is valid", PARAMS_FILE)


if __name__ == "__main__":
    run_stage(main)
