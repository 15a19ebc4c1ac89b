"""What the CUDA GPU in use can compute, as Paddle decides it: AMP dtypes and FlashAttention.

Everything but :func:`gpu_capability` is a pure function of a compute capability ``(major, minor)``
(None: no CUDA GPU in use), so callers can ask about any card and tests need no GPU. The limits are
Paddle's own (3.3.1), each named where it is defined.
"""
from typing import Optional, Tuple, Union

import paddle

Capability = Optional[Tuple[int, int]]

# paddle/amp/auto_cast.py, _is_gpu_float16_supported / _is_gpu_bfloat16_supported. bfloat16 also needs
# CUDA 11 or newer, which every Paddle 3 GPU build is.
AMP_MIN_CAPABILITY = {"float16": (7, 0), "bfloat16": (8, 0)}
# paddle/nn/functional/sdpa.py, init_config()["flash_attn"]
FLASH_ATTENTION_CAPABILITY = ((8, 0), (12, 1))
FLASH_ATTENTION_DTYPES = ("float16", "bfloat16")


def gpu_capability() -> Capability:
    """The compute capability of the GPU Paddle currently runs on.

    Returns:
        ``(major, minor)``, e.g. ``(7, 0)`` for a V100, ``(8, 0)`` for an A100; None when the current
        device is not a CUDA GPU (CPU, XPU, ...) or Paddle is built without CUDA.
    """
    device = paddle.get_device()  # "cpu", "gpu:0", "xpu:0", ...
    if not (paddle.is_compiled_with_cuda() and device.startswith("gpu:")):
        return None
    major, minor = paddle.device.cuda.get_device_capability(int(device.split(":")[1]))
    return int(major), int(minor)


def dtype_name(dtype: Union[str, paddle.dtype]) -> str:
    """``"float16"`` for ``"float16"`` and for ``paddle.float16`` (whose ``str`` is ``"paddle.float16"``)."""
    return str(dtype).replace("paddle.", "")


def amp_dtype_supported(dtype: Union[str, paddle.dtype], capability: Capability) -> bool:
    """Whether Paddle's ``auto_cast`` computes in ``dtype`` on a GPU of this capability.

    Where it does not, ``auto_cast`` warns and runs float32 and ``decorate(level="O2")`` returns the
    model unchanged, so callers must not promise (or loss-scale for) low precision there.

    Args:
        dtype: ``float16`` or ``bfloat16`` (string or Paddle dtype); any other dtype gives False.
        capability: ``(major, minor)``, or None for no CUDA GPU.

    Returns:
        True for float16 from compute capability 7.0 and bfloat16 from 8.0.
    """
    minimum = AMP_MIN_CAPABILITY.get(dtype_name(dtype))
    return capability is not None and minimum is not None and tuple(capability) >= minimum


def flash_attention_supported(dtype: Union[str, paddle.dtype], capability: Capability) -> bool:
    """Whether Paddle's FlashAttention kernel runs for ``dtype`` on a GPU of this capability.

    Args:
        dtype: the dtype of query, key and value (string or Paddle dtype).
        capability: ``(major, minor)``, or None for no CUDA GPU.

    Returns:
        True for float16 and bfloat16 on compute capability 8.0 to 12.1 (bfloat16 needs 8.0 anyway).
    """
    low, high = FLASH_ATTENTION_CAPABILITY
    return (capability is not None and low <= tuple(capability) <= high
            and dtype_name(dtype) in FLASH_ATTENTION_DTYPES)


def format_capability(capability: Capability) -> str:
    """``"7.5"`` for ``(7, 5)``, ``"no CUDA GPU"`` for None: for messages."""
    return "no CUDA GPU" if capability is None else f"{capability[0]}.{capability[1]}"
