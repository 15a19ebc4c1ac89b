"""Under the setup this machine gets (threads, MKL's CPU type), GEMM, softmax and GELU still compute
what float64 computes: a wrong MKL kernel choice would show here, not only in a benchmark."""
import math

import numpy as np
from cpu_setup_helpers import run_fresh_python

COMPUTE = """
import sys
import numpy as np
import paddlevideo
import paddle
import paddle.nn.functional as F
data = np.load(sys.argv[1])
a, b, x, g = (paddle.to_tensor(data[k]) for k in ("a", "b", "x", "g"))
np.savez(sys.argv[2], gemm=paddle.matmul(a, b).numpy(), softmax=F.softmax(x, axis=-1).numpy(),
         gelu=F.gelu(g).numpy(), summary=np.array(paddlevideo.setup_cpu().summary()))
"""


def test_gemm_softmax_gelu_match_float64(tmp_path):
    rng = np.random.default_rng(0)
    data = {"a": rng.standard_normal((197, 768)), "b": rng.standard_normal((768, 512)) / math.sqrt(768),
            "x": 4 * rng.standard_normal((6, 197, 197)), "g": 3 * rng.standard_normal((197, 1024))}
    np.savez(tmp_path / "in.npz", **{k: v.astype(np.float32) for k, v in data.items()})
    run_fresh_python(COMPUTE, [str(tmp_path / "in.npz"), str(tmp_path / "out.npz")])
    out = np.load(tmp_path / "out.npz")
    print("\n" + str(out["summary"]))
    inputs = {k: v.astype(np.float32).astype(np.float64) for k, v in data.items()}  # what paddle saw
    gemm = inputs["a"] @ inputs["b"]
    shifted = np.exp(inputs["x"] - inputs["x"].max(-1, keepdims=True))
    softmax = shifted / shifted.sum(-1, keepdims=True)
    erf = np.vectorize(math.erf)
    gelu = 0.5 * inputs["g"] * (1 + erf(inputs["g"] / math.sqrt(2)))
    np.testing.assert_allclose(out["gemm"], gemm, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out["softmax"], softmax, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out["gelu"], gelu, rtol=1e-5, atol=1e-6)
