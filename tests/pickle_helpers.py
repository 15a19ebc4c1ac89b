"""A checkpoint that runs a command when plain ``pickle``/``paddle.load`` reads it (shared by the tests
of the restricted reader and of every path that loads a user's file)."""
import os
import pickle

SYSTEM = f"{os.system.__module__}.system"  # posix.system: what pickle names for os.system


class RunsCommand:
    """Pickles as a call of ``os.system``: what a malicious checkpoint contains."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def write_malicious(path, marker, **plain) -> str:
    """A pickle of ``plain`` entries plus a payload that would create ``marker``; returns its path."""
    with open(path, "wb") as handle:
        pickle.dump({**plain, "payload": RunsCommand(f"touch {marker}")}, handle)
    return str(path)
