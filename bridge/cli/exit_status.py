"""The exit codes of `aihd-bridge`, named once (httpie's `ExitStatus` is the model), and the
error a command raises to end with one."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1  # a photo failed, a check failed, no bridge to report on, a readable error
    USAGE = 2  # click's own: a wrong option or argument
    NO_BRIDGE = 3  # --bridge-only and no bridge runs: a host can tell "start it" apart
    INTERRUPTED = 130  # Ctrl-C, as shells count it (128 + SIGINT)


class CliError(Exception):
    """What a command could not do, in one line: `BridgeGroup` prints it as `error: <message>`
    and exits with `status`."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.status = status
