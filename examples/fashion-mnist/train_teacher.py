#!/usr/bin/env python3
"""Train a class-conditional flow-matching U-Net on Fashion-MNIST in PyTorch and save it as TorchScript.

The teacher a PyTorch user brings: written in plain PyTorch, trained on real images nobody in this
project made, saved with torch.jit.script from its EMA weights. `phased-dmd import-teacher` brings it in.

  data        Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz): 60 000
              training images, 28 x 28 grey, 10 classes; pixels scaled to [-1, 1], random horizontal flips.
  model       a U-Net (three levels 28 / 14 / 7, widths 24 / 48 / 96 by default, residual blocks with GroupNorm and
              SiLU, the time and class embeddings added in every block); forward(x, t, cond) -> velocity,
              x [B, 1, 28, 28], t in [0, 1] fed as t * 1000 to sinusoidal features, cond the class ids with
              id 10 the learnt "no class" (classes dropped to it in 10 % of the examples, for guidance).
  objective   flow matching: x_t = (1 - t) x_0 + t eps, t uniform in [0, 1], regress eps - x_0.
  writes      teacher.pt (TorchScript of the EMA weights), conditions.safetensors ('cond': ids 0..9,
              'null': id 10), names.txt (the class names, one per line), train_config.json (the arguments,
              the seed, the parameter count, the seconds and the last losses).

usage: /usr/bin/python3 examples/fashion-mnist/train_teacher.py --out DIR [--iterations N] [--batch-size B]
                                                                [--seed S] [--threads T]
The shipped teacher (assets/teachers/fashion-mnist) is the default run (3000 iterations at batch 128),
then `phased-dmd import-teacher` (see examples/fashion-mnist/README.md).
Debian's python3-torch needs libopenblas0-pthread for a usable BLAS.
"""
import argparse
import copy
import gzip
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
NAMES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path: str) -> np.ndarray:
    """An idx file (big-endian magic 0x00 0x00 type dims, then the dimensions as u32, then the data) as uint8."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, kind, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        raise SystemExit(f"error: {path} is not an idx file of unsigned bytes")
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split: str):
    """(images [N, 1, 28, 28] in [-1, 1], labels [N]) of 'train' or 't10k'."""
    images_path, labels_path = (os.path.join(DATA, f"{split}-{kind}-ubyte.gz") for kind in ("images-idx3", "labels-idx1"))
    for path in (images_path, labels_path):
        if not os.path.exists(path):
            raise SystemExit(f"error: {path} is missing; install Debian's dataset-fashion-mnist package")
    images = torch.from_numpy(read_idx(images_path).copy()).float().div(127.5).sub(1.0).unsqueeze(1)
    labels = torch.from_numpy(read_idx(labels_path).astype(np.int64))
    return images, labels


def time_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t * 1000 (t the flow time in [0, 1])."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(10000.0) / (half - 1)))
    args = (t.float() * 1000.0).unsqueeze(-1) * freqs
    return torch.cat([args.sin(), args.cos()], dim=-1)


class Block(torch.nn.Module):
    """A residual block: GroupNorm, SiLU, 3x3 conv, + the embedding's shift, GroupNorm, SiLU, 3x3 conv."""

    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.norm1 = torch.nn.GroupNorm(8, cin)
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = torch.nn.Linear(emb, cout)
        self.norm2 = torch.nn.GroupNorm(8, cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = torch.nn.Conv2d(cin, cout, 1) if cin != cout else torch.nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(torch.nn.Module):
    """forward(x, t, cond) -> the flow-matching velocity eps - x_0."""

    def __init__(self, classes: int = 10, width: int = 24, emb: int = 128):
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        self.time = torch.nn.Sequential(torch.nn.Linear(emb, emb), torch.nn.SiLU(), torch.nn.Linear(emb, emb))
        self.label = torch.nn.Embedding(classes + 1, emb)
        self.stem = torch.nn.Conv2d(1, w1, 3, padding=1)
        self.down1 = Block(w1, w1, emb)
        self.pool1 = torch.nn.Conv2d(w1, w1, 3, stride=2, padding=1)    # 28 -> 14
        self.down2 = Block(w1, w2, emb)
        self.pool2 = torch.nn.Conv2d(w2, w2, 3, stride=2, padding=1)    # 14 -> 7
        self.mid = Block(w2, w3, emb)
        self.up2 = Block(w3 + w2, w2, emb)
        self.up1 = Block(w2 + w1, w1, emb)
        self.norm = torch.nn.GroupNorm(8, w1)
        self.head = torch.nn.Conv2d(w1, 1, 3, padding=1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        self.emb_dim = emb

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        e = F.silu(self.time(time_features(t, self.emb_dim)) + self.label(cond))
        h1 = self.down1(self.stem(x), e)
        h2 = self.down2(self.pool1(h1), e)
        h = self.mid(self.pool2(h2), e)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest")[:, :, :14, :14], h2], dim=1), e)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h1], dim=1), e)
        return self.head(F.silu(self.norm(h)))


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
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--iterations", type=int, default=3000, help="training iterations (default 3000)")
    parser.add_argument("--batch-size", type=int, default=128, help="examples per iteration (default 128)")
    parser.add_argument("--width", type=int, default=24, help="channels of the first level; the others have 2x and 4x (default 24)")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of AdamW (default 1e-3)")
    parser.add_argument("--ema", type=float, default=0.999, help="decay of the weights' exponential moving average (default 0.999)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    images, labels = load("train")
    classes = len(NAMES)
    net = UNet(classes, args.width)
    ema = copy.deepcopy(net).requires_grad_(False)
    parameters = sum(p.numel() for p in net.parameters())
    print(f"U-Net with {parameters:,} parameters; {len(images)} training images; {args.iterations} iterations at batch {args.batch_size}", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.iterations // 25)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup) * (0.5 + 0.5 * math.cos(math.pi * min(i, args.iterations) / args.iterations)) * 0.99 + 0.01)
    start, recent = time.time(), []
    for it in range(1, args.iterations + 1):
        index = torch.randint(len(images), (args.batch_size,), generator=g)
        x0, k = images[index], labels[index]
        flip = torch.rand(args.batch_size, generator=g) < 0.5
        x0 = torch.where(flip.view(-1, 1, 1, 1), x0.flip(-1), x0)
        k = torch.where(torch.rand(args.batch_size, generator=g) < 0.1, torch.full_like(k, classes), k)
        eps = torch.randn(x0.shape, generator=g)
        t = torch.rand(args.batch_size, generator=g)
        xt = (1 - t).view(-1, 1, 1, 1) * x0 + t.view(-1, 1, 1, 1) * eps
        loss = F.mse_loss(net(xt, t, k), eps - x0)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        decay = min(args.ema, (1 + it) / (10 + it))   # a short warm-up of the average, as is usual
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.mul_(decay).add_(p, alpha=1 - decay)
        recent = (recent + [loss.item()])[-100:]
        if it % 100 == 0 or it == args.iterations:
            elapsed = time.time() - start
            print(f"iteration {it}/{args.iterations}  loss {sum(recent) / len(recent):.4f}  {elapsed:.0f} s"
                  f"  (about {elapsed / it * (args.iterations - it) / 60:.0f} min left)", flush=True)
    seconds = time.time() - start
    os.makedirs(args.out, exist_ok=True)
    ema.eval()
    torch.jit.script(ema).save(os.path.join(args.out, "teacher.pt"))
    write_safetensors(os.path.join(args.out, "conditions.safetensors"), {"cond": torch.arange(classes), "null": torch.tensor([classes])})
    with open(os.path.join(args.out, "names.txt"), "w") as f:
        f.write("\n".join(NAMES) + "\n")
    with open(os.path.join(args.out, "train_config.json"), "w") as f:
        json.dump({**vars(args), "parameters": parameters, "seconds": round(seconds, 1),
                   "final_loss": round(sum(recent) / len(recent), 5), "torch": torch.__version__}, f, indent=2)
    print(f"wrote {args.out}/teacher.pt (EMA weights), conditions.safetensors, names.txt, train_config.json in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
