"""Video reads that never return, blocked in native code with the GIL held, as decord's spin on indices
past a file's real end is (upstream decord issues #269, #373, #375): nothing in the reading process can
interrupt it. ``stalling_decoder(name)`` makes ``VideoDecoder`` block so on files whose name contains
``name``; run as a script it does that and then runs ``main.py``:

    PYTHONPATH=. python tests/stalled_read_helpers.py NAME MARKER main.py-arguments...

(``MARKER`` is a file touched when the read starts, so that a test knows when it is stalled).
"""
import ctypes
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from paddlevideo.loader.pipelines import VideoDecoder

LIBC = ctypes.PyDLL(None)  # PyDLL, unlike CDLL, keeps the GIL during the call


def block_in_native_code() -> None:
    while True:
        LIBC.sleep(3600)


def stalling_decoder(name: str, marker: Optional[str] = None) -> Callable:
    """A ``VideoDecoder.__call__`` that blocks for ever on files whose name contains ``name``."""
    real = VideoDecoder.__call__

    def call(self, results):
        if name in os.path.basename(results["filename"]):
            if marker:
                Path(marker).touch()
            block_in_native_code()
        return real(self, results)

    return call


if __name__ == "__main__":
    import main

    VideoDecoder.__call__ = stalling_decoder(sys.argv[1], sys.argv[2])
    sys.exit(main.main(sys.argv[3:]))
