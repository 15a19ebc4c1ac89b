"""Models: importing this package registers every backbone, head, recognizer and loss.

It also turns off Paddle 3's stride kernels (``FLAGS_use_stride_kernel``). With them, ``transpose`` and
``reshape`` return strided views on CPU and every later op on such a view runs a slow generic kernel:
measured on this project's models, the tiny demo TokShift's forward took 1.4-4x and its training step
1.25-1.7x as long, ViT-B 8x224's forward 1.4x (1.83 s vs 1.32 s) and training step 1.4x (7.9 s vs 5.7 s).
Values are unchanged (tested). Set it back with ``paddle.set_flags`` after import if you need views.
"""
import paddle

from . import backbones, framework, heads, losses  # noqa: F401

paddle.set_flags({"FLAGS_use_stride_kernel": False})
