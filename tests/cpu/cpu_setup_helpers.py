"""Running a fresh Python for the CPU setup's tests: the setup acts at import, and this test process
imported Paddle long ago (and set the variables then)."""
import os
import subprocess
import sys
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", "FLAGS_use_stride_kernel",
                   "PADDLEVIDEO_CPU_SETUP", "PADDLE_LOCAL_SIZE")


def run_fresh_python(code: str, args: List[str] = (), env_updates: Optional[Dict[str, str]] = None):
    """``python -c code args`` with none of the setup's variables in its environment (plus
    ``env_updates``); asserts that it succeeded and returns the completed process."""
    env = {k: v for k, v in os.environ.items() if k not in SETUP_VARIABLES}
    env.update(env_updates or {})
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc
