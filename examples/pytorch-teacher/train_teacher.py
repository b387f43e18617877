#!/usr/bin/env python3
"""Train a small flow-matching teacher in PyTorch on a 2-D Gaussian mixture and save it as TorchScript.

This is the "your own PyTorch model" side of PhasedDmd: a user's teacher, trained outside the
project, that `phased-dmd import-teacher` brings in. Two tasks:

  mixture      6 Gaussians (a pentagon and its centre, unequal weights). Writes teacher.pt,
               whose forward(x, t) returns the velocity eps - x_0, and mixture.json, the exact
               distribution (for `phased-dmd eval --mixture`).
  conditional  4 classes, one Gaussian each. Writes teacher.pt with forward(x, t, cond), cond a
               batch of class ids; conditions.safetensors ('cond': the ids 0..3, 'null': id 4, the
               learnt "no class" used by classifier-free guidance); names.txt (the classes' names);
               mixture.json (all classes together, weighted equally).

Flow matching (method.md section 1): x_t = (1 - t) x_0 + t eps with t uniform in [0, 1]; the
network regresses eps - x_0. Conditional training drops the class to 'null' 10 % of the time.

usage: /usr/bin/python3 train_teacher.py --task mixture|conditional --out DIR
                                         [--iterations N] [--seed S] [--threads T]
On 2 CPU cores, 4000 iterations take about a minute (Debian's python3-torch needs
libopenblas0-pthread for a usable BLAS). The conditional test fixture of the suite is
  /usr/bin/python3 examples/pytorch-teacher/train_teacher.py --task conditional --iterations 3000 \
      --out tests/PhasedDmd.Tests/Interop/fixtures/conditional
"""
import argparse
import json
import math
import os
import struct
import time

import torch

MIXTURE = {  # a pentagon of radius 3 and its centre
    "means": [[0.0, 0.0]] + [[round(3 * math.cos(2 * math.pi * k / 5 + math.pi / 2), 6),
                              round(3 * math.sin(2 * math.pi * k / 5 + math.pi / 2), 6)] for k in range(5)],
    "stds": [0.3] * 6,
    "weights": [0.2, 0.24, 0.16, 0.16, 0.12, 0.12],
}
CLASSES = {
    "names": ["northeast", "northwest", "southwest", "southeast"],
    "means": [[2.5, 2.5], [-2.5, 2.5], [-2.5, -2.5], [2.5, -2.5]],
    "std": 0.4,
}


def time_features(t: torch.Tensor) -> torch.Tensor:
    freqs = torch.exp(torch.arange(16, dtype=torch.float32, device=t.device) * (-math.log(1000.0) / 15))
    args = (t * 1000.0).unsqueeze(-1) * freqs
    return torch.cat([args.sin(), args.cos()], dim=-1)


class Flow(torch.nn.Module):
    """forward(x, t) -> velocity: an MLP on [x, time features]."""

    def __init__(self, hidden: int = 128, layers: int = 4):
        super().__init__()
        self.inp = torch.nn.Linear(2 + 32, hidden)
        self.hidden = torch.nn.ModuleList([torch.nn.Linear(hidden, hidden) for _ in range(layers - 2)])
        self.out = torch.nn.Linear(hidden, 2)

    def trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.silu(h)
        for layer in self.hidden:
            h = torch.nn.functional.silu(layer(h))
        return self.out(h)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.inp(torch.cat([x, time_features(t)], dim=1)))


class ConditionalFlow(Flow):
    """forward(x, t, cond) -> velocity, cond a batch of class ids (the last id is 'no class')."""

    def __init__(self, classes: int, hidden: int = 128, layers: int = 4):
        super().__init__(hidden, layers)
        self.embed = torch.nn.Embedding(classes + 1, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.inp(torch.cat([x, time_features(t)], dim=1)) + self.embed(cond))


def sample_data(task: str, n: int, g: torch.Generator):
    """(x_0 [n, 2], class ids [n] or None)."""
    if task == "mixture":
        k = torch.multinomial(torch.tensor(MIXTURE["weights"]), n, replacement=True, generator=g)
        means, stds = torch.tensor(MIXTURE["means"]), torch.tensor(MIXTURE["stds"])
        return means[k] + stds[k].unsqueeze(1) * torch.randn(n, 2, generator=g), None
    k = torch.randint(len(CLASSES["names"]), (n,), generator=g)
    return torch.tensor(CLASSES["means"])[k] + CLASSES["std"] * torch.randn(n, 2, generator=g), k


def write_safetensors(path: str, tensors: dict) -> None:
    """A safetensors file (8-byte header length, JSON header, raw little-endian data) without the safetensors package."""
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["mixture", "conditional"], required=True)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--iterations", type=int, default=4000, help="training iterations (default 4000)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    classes = len(CLASSES["names"])
    net = Flow() if args.task == "mixture" else ConditionalFlow(classes)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iterations, eta_min=1e-5)
    start = time.time()
    for it in range(1, args.iterations + 1):
        x0, k = sample_data(args.task, args.batch_size, g)
        eps = torch.randn(x0.shape, generator=g)
        t = torch.rand(args.batch_size, generator=g)
        xt = (1 - t).unsqueeze(1) * x0 + t.unsqueeze(1) * eps
        if k is None:
            pred = net(xt, t)
        else:
            drop = torch.rand(args.batch_size, generator=g) < 0.1
            pred = net(xt, t, torch.where(drop, torch.full_like(k, classes), k))
        loss = ((pred - (eps - x0)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 500 == 0 or it == args.iterations:
            print(f"iteration {it}/{args.iterations}  loss {loss.item():.4f}  {time.time() - start:.0f} s", flush=True)

    os.makedirs(args.out, exist_ok=True)
    net.eval()
    torch.jit.script(net).save(os.path.join(args.out, "teacher.pt"))
    if args.task == "mixture":
        mixture = MIXTURE
    else:
        write_safetensors(os.path.join(args.out, "conditions.safetensors"),
                          {"cond": torch.arange(classes), "null": torch.tensor([classes])})
        with open(os.path.join(args.out, "names.txt"), "w") as f:
            f.write("\n".join(CLASSES["names"]) + "\n")
        mixture = {"means": CLASSES["means"], "stds": [CLASSES["std"]] * classes, "weights": [1 / classes] * classes}
    with open(os.path.join(args.out, "mixture.json"), "w") as f:
        json.dump(mixture, f, indent=2)
    print(f"wrote {args.out}/teacher.pt and mixture.json" + (", conditions.safetensors, names.txt" if args.task == "conditional" else ""))


if __name__ == "__main__":
    main()
