"""Our dygraph TokShift vs the official PyTorch TokShift, forward and train step, in one alternating run.

    python tools/benchmark/torch_compare.py [--threads 2] [--repeats 9] [--warmup 1] [--no_train]
    python tools/benchmark/torch_compare.py --defaults     # both sides as a user's shell starts them

ViT-B/16 TokShift, 8 frames of 224 px, batch 1 (the setting of issue 10). PyTorch is never a
dependency of this project: without ``torch`` only our times are printed. With it, a compact PyTorch
copy of the official model (VideoNetworks/TokShift-Transformer ``vit_models/modeling_tokshift.py``:
per-frame ViT with separate query/key/value projections, the class token shifted along time before
attention and before the MLP of every block with ``shift_div`` 4, LayerNorm eps 1e-6, exact GELU,
logits averaged over frames) gets our weights (Linear weights transposed), and the max logit
difference is printed, so both sides compute the same function.

``--threads N`` forces N threads on both sides. ``--defaults`` gives each side what a user's shell
gives it: ours the CPU setup that ``import paddlevideo`` applies (``paddlevideo/cpu``), PyTorch its own
thread choice, started without the variables our setup set.

PyTorch runs in its own process (``multiprocessing`` spawn, no Paddle imported there), so each runtime
has the process defaults its users get: importing paddlevideo sets glibc's malloc thresholds, and in one shared process each runtime's frees changed the
other's page faults (measured: our training step took 3.5 s next to torch but 4.1-4.5 s alone before
that setting; torch's forward took 0.95-1.02 s next to ours but 0.99-1.32 s in a fresh process of its
own, with up to 260 thousand page faults each).
The rounds still alternate between the two processes, so both see the same background load.

Timed per round, each after a short pause so the other runtime's OpenMP threads stop spinning:
forward (eval, no grad) and train step (forward, cross-entropy with label smoothing 0.01, backward,
SGD momentum 0.9 step; no dropout on either side). Medians of ``--repeats`` rounds and the ratio
ours / torch (below 1 means ours is faster; issue 10's goal: forward <= 1.0, train step <= 1.2).
``--eval_program`` also times our forward as the opt-in ``eval_backend: static`` runs it (a
``to_static`` program with oneDNN kernels, ``tasks/eval_forward.py``). ``--reference_kernels`` also times ours with :func:`paddlevideo.modeling.layers.fast_paths.reference_kernels`
(plain ``F.linear``, Paddle's LayerNorm backward and a concatenating token shift: the state before the
fast paths) in the same rounds. Our last block computes only the class token (exact; the official code
computes every token there), which is part of our implementation.
"""
import argparse
import contextlib
import importlib.util
import multiprocessing
import os
import statistics
import sys
from typing import Optional

from paddlevideo.cpu import setup_cpu, setup_cpu_device, variables_set

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = os.path.join(ROOT, "configs", "recognition", "tokshift", "k400_tokshift_div4_8x32_base_224.yaml")
LR, MOMENTUM, LABEL_SMOOTHING = 1e-3, 0.9, 0.01


def build_ours(seed: int):
    """Our recognizer (random std-0.02 weights, classifier included, no dropout) and its optimizer."""
    import paddle

    from paddlevideo.config import get_config
    from paddlevideo.modeling.builder import build_model

    cfg = get_config(CONFIG, overrides=["MODEL.head.std=0.02"], show=False)
    paddle.seed(seed)
    model = build_model(cfg["MODEL"])
    optimizer = paddle.optimizer.Momentum(LR, momentum=MOMENTUM, parameters=model.parameters())
    return cfg, model, optimizer


def torch_tokshift(torch, bb: dict, num_classes: int):
    """The official TokShift ViT in PyTorch, compact (module names follow the official code)."""
    nn, F = torch.nn, torch.nn.functional
    dim, heads, num_seg = bb["embed_dim"], bb["num_heads"], bb["num_seg"]
    fold = dim // bb["shift_div"]

    def shift(x):  # [B*T, N, C]: class token channels [0, fold) <- t+1, [fold, 2 fold) <- t-1
        cls = x[:, :1].reshape(-1, num_seg, 1, dim)
        out = torch.zeros_like(cls)
        out[:, :-1, :, :fold] = cls[:, 1:, :, :fold]
        out[:, 1:, :, fold:2 * fold] = cls[:, :-1, :, fold:2 * fold]
        out[:, :, :, 2 * fold:] = cls[:, :, :, 2 * fold:]
        return torch.cat([out.reshape(-1, 1, dim), x[:, 1:]], dim=1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value, self.out = (nn.Linear(dim, dim) for _ in range(4))

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = (layer(x).view(b, n, heads, -1).permute(0, 2, 1, 3)
                       for layer in (self.query, self.key, self.value))
            scores = torch.matmul(q, k.transpose(-1, -2)) / (dim // heads) ** 0.5
            context = torch.matmul(F.softmax(scores, dim=-1), v)
            return self.out(context.permute(0, 2, 1, 3).reshape(b, n, dim))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention()
            self.ffn_norm = nn.LayerNorm(dim, eps=1e-6)
            hidden = int(dim * bb["mlp_ratio"])
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x):
            x = shift(x)
            x = x + self.attn(self.attention_norm(x))
            x = shift(x)
            return x + self.fc2(F.gelu(self.fc1(self.ffn_norm(x))))

    class TokShift(nn.Module):
        def __init__(self):
            super().__init__()
            patch, grid = bb["patch_size"], bb["img_size"] // bb["patch_size"]
            self.patch_embeddings = nn.Conv2d(3, dim, patch, stride=patch)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.position_embeddings = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
            self.layer = nn.ModuleList(Block() for _ in range(bb["depth"]))
            self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, num_classes)

        def forward(self, video):  # [B, 3, T, H, W] -> [B, K]
            b, c, t, h, w = video.shape
            x = self.patch_embeddings(video.transpose(1, 2).reshape(b * t, c, h, w)).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(b * t, -1, -1), x], dim=1) + self.position_embeddings
            for block in self.layer:
                x = block(x)
            return self.head(self.encoder_norm(x)[:, 0]).view(b, t, -1).mean(1)

    return TokShift()


def torch_state(ours) -> dict:
    """Our Paddle parameters as numpy arrays in the PyTorch model's names and layouts (Linear weights
    transposed, the fused qkv split into query/key/value)."""
    state = {k: v.numpy() for k, v in ours.state_dict().items()}
    dim = state["backbone.cls_token"].shape[-1]
    out = {"patch_embeddings.weight": state["backbone.patch_embed.proj.weight"],
           "patch_embeddings.bias": state["backbone.patch_embed.proj.bias"],
           "cls_token": state["backbone.cls_token"], "position_embeddings": state["backbone.pos_embed"],
           "encoder_norm.weight": state["backbone.norm.weight"], "encoder_norm.bias": state["backbone.norm.bias"],
           "head.weight": state["head.fc.weight"].T, "head.bias": state["head.fc.bias"]}
    i = 0
    while f"backbone.blocks.{i}.norm1.weight" in state:
        src, dst = f"backbone.blocks.{i}.", f"layer.{i}."
        for a, b in (("norm1", "attention_norm"), ("norm2", "ffn_norm")):
            out[dst + b + ".weight"], out[dst + b + ".bias"] = state[src + a + ".weight"], state[src + a + ".bias"]
        for a, b in (("attn.proj", "attn.out"), ("mlp.fc1", "fc1"), ("mlp.fc2", "fc2")):
            out[dst + b + ".weight"], out[dst + b + ".bias"] = state[src + a + ".weight"].T, state[src + a + ".bias"]
        for j, name in enumerate(("query", "key", "value")):
            cols = slice(j * dim, (j + 1) * dim)
            out[f"{dst}attn.{name}.weight"] = state[src + "attn.qkv.weight"][:, cols].T
            out[f"{dst}attn.{name}.bias"] = state[src + "attn.qkv.bias"][cols]
        i += 1
    return {k: v.copy() for k, v in out.items()}


def paddle_calls(model, optimizer, video, labels, context) -> dict:
    """Our forward and train step, each run inside ``context()``."""
    import paddle

    def forward():
        model.eval()
        with context(), paddle.no_grad():
            model([video], mode="infer")

    def step():
        model.train()
        with context():
            model([video, labels], mode="train")["loss"].backward()
        optimizer.step()
        optimizer.clear_grad()

    return {"forward": forward, "train step": step}


def program_forward(model, video):
    """Our forward as ``eval_backend: static`` runs it: the to_static program with oneDNN kernels
    (``tasks/eval_forward.py``), built before the timed rounds."""
    import paddle

    from paddlevideo.tasks.eval_forward import EvalForward

    program = EvalForward(model, "static", use_static=True)

    def forward():
        model.eval()
        with paddle.no_grad():
            program([video])

    forward()
    if not program.static:
        raise RuntimeError("the static evaluation program failed (see the warning above)")
    return forward


def torch_calls(torch, model, video, labels) -> dict:
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def forward():
        model.eval()
        with torch.no_grad():
            model(video)

    def step():
        model.train()
        torch.nn.functional.cross_entropy(model(video), labels, label_smoothing=LABEL_SMOOTHING).backward()
        optimizer.step()
        optimizer.zero_grad()

    return {"forward": forward, "train step": step}


def torch_worker(conn, threads: Optional[int], bb: dict, num_classes: int, state: dict, video_np) -> None:
    """The PyTorch side, in its own process: sends its logits and version, then runs each call name it
    receives and answers when done, until it receives None."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    model = torch_tokshift(torch, bb, num_classes)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    video = torch.from_numpy(video_np)
    calls = torch_calls(torch, model, video, torch.tensor([1]))
    model.eval()
    with torch.no_grad():
        conn.send((model(video).numpy(), torch.__version__, torch.get_num_threads()))
    for name in iter(conn.recv, None):
        calls[name]()
        conn.send(name)


@contextlib.contextmanager
def torch_process(threads: Optional[int], bb: dict, num_classes: int, state: dict, video_np):
    """Start :func:`torch_worker` (with the shell's environment when ``threads`` is None); yields
    (logits, version, threads, {name: call}), each call running that stage in the worker and returning
    when it is done."""
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    worker = context.Process(target=torch_worker, args=(child_conn, threads, bb, num_classes, state, video_np))
    with shell_environment(active=threads is None):
        worker.start()
    child_conn.close()  # the worker holds its end; a dead worker then ends our reads with EOFError
    try:
        try:
            logits, version, torch_threads = conn.recv()
        except EOFError:
            worker.join()
            raise RuntimeError(f"the PyTorch worker process exited with code {worker.exitcode} before "
                               "sending its logits (its traceback is printed above)") from None

        def remote(name):
            def call():
                conn.send(name)
                conn.recv()
            return call

        yield logits, version, torch_threads, {name: remote(name) for name in ("forward", "train step")}
    finally:
        if worker.is_alive():
            conn.send(None)
        worker.join(timeout=30)


@contextlib.contextmanager
def shell_environment(active: bool):
    """While active, the environment without the variables our CPU setup set (a spawned child
    process inherits the environment at its start)."""
    ours = variables_set() if active else {}
    for name in ours:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(ours)


def run(args) -> None:
    import numpy as np
    import paddle

    from paddlevideo.deploy.cpu import cpu_model_name, feature_summary

    print(f"CPU: {cpu_model_name()} ({os.cpu_count()} CPUs visible); features: {feature_summary()}")
    print(setup_cpu().summary())
    cfg, ours, optimizer = build_ours(args.seed)
    bb = cfg["MODEL"]["backbone"]
    shape = [1, 3, bb["num_seg"], bb["img_size"], bb["img_size"]]
    video_np = np.random.default_rng(args.seed).standard_normal(shape).astype("float32")
    video, labels = paddle.to_tensor(video_np), paddle.to_tensor([1])
    calls = {f"ours {k}": f for k, f in paddle_calls(ours, optimizer, video, labels, contextlib.nullcontext).items()}
    if args.eval_program:
        calls["ours-program forward"] = program_forward(ours, video)
    if args.reference_kernels:
        from paddlevideo.modeling.layers.fast_paths import reference_kernels
        calls.update({f"ours-ref {k}": f for k, f in paddle_calls(
            ours, optimizer, video, labels, reference_kernels).items()})
    with contextlib.ExitStack() as stack:
        if importlib.util.find_spec("torch") is None:
            print("torch is not installed: timing ours only")
        else:
            logits, version, torch_threads, torch_stage_calls = stack.enter_context(torch_process(
                args.threads, dict(bb), cfg["MODEL"]["head"]["num_classes"], torch_state(ours), video_np))
            calls.update({f"torch {k}": f for k, f in torch_stage_calls.items()})
            print_agreement(ours, video, logits)
            print(f"torch {version} in its own process, {torch_threads} threads")
        time_calls(args, calls, shape, paddle.__version__)


def time_calls(args, calls: dict, shape, paddle_version: str) -> None:
    """Time the calls in alternating rounds and print medians and ratios."""
    from paddlevideo.deploy.timing import interleaved_timings

    if args.no_train:
        calls = {k: f for k, f in calls.items() if k.endswith("forward")}
    load_before = os.getloadavg()[0]
    times = interleaved_timings(calls, args.warmup, args.repeats, args.pause)
    threads = "default threads" if args.threads is None else f"{args.threads} threads forced on both sides"
    print(f"paddle {paddle_version}, {threads}; ViT-B/16 TokShift {shape}; medians of "
          f"{args.repeats} alternating rounds after {args.warmup} warm-up; load average (1 min) "
          f"{load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print_times(times)


def print_agreement(ours, video, theirs) -> None:
    """Max |logit difference| between our model and the PyTorch logits on the benchmark clip (eval)."""
    import numpy as np
    import paddle

    ours.eval()
    with paddle.no_grad():
        mine = ours([video], mode="infer").numpy()
    print(f"logits: max |ours - torch| = {np.abs(mine - theirs).max():.2e} (max |logit| {np.abs(theirs).max():.2e})")


def print_times(times: dict) -> None:
    """One line per timed call: median, min, and the ratio to torch's median of the same stage."""
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        line = f"{name:<20} {median:6.3f} s (min {min(times[name]):.3f})"
        theirs = medians.get("torch " + name.split(" ", 1)[1])
        if theirs is not None and not name.startswith("torch"):
            line += f"   vs torch {median / theirs:.2f}x"
        print(line)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--threads", type=int, default=2, help="threads forced on both sides (default 2)")
    mode.add_argument("--defaults", dest="threads", action="store_const", const=None,
                      help="no forced threads: each side as a user's shell starts it")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.3,
                        help="idle seconds before each timed call (OpenMP threads stop spinning)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_train", action="store_true", help="time the forward only")
    parser.add_argument("--eval_program", action="store_true",
                        help="also time our forward as the static program with oneDNN (eval_backend: static)")
    parser.add_argument("--reference_kernels", action="store_true",
                        help="also time ours with plain F.linear (before the fast paths)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        setup_cpu(threads=args.threads)  # before Paddle is imported: eager kernels read it once
    setup_cpu_device()  # a CPU benchmark: the CPU-only settings too, as main.py applies them on CPU
    from paddlevideo.utils.cli import run_reporting_errors

    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
