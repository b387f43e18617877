#!/usr/bin/env python3
"""PyTorch reference for `phased-dmd bench`: the same glyphs DiT and the same one-step DMD update.

Mirrors src/PhasedDmd/Models/DitVelocityModel.cs and Distiller.Update (method "dmd": 1 step,
1 phase, normalised DMD gradient, subinterval fake loss with s = 0, teacher CFG batched,
AdamW betas (0, 0.999), generator EMA) shape for shape, so that only the framework differs.
Prints one JSON object. Run with Debian's python3-torch (see README, Performance).
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TIME_FREQ = 128


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(1000.0) / max(half - 1, 1)))
    args = (t.float() * 1000.0).unsqueeze(-1) * freqs.unsqueeze(0)
    return torch.cat([args.sin(), args.cos()], dim=-1)


def sincos_positions(tokens_h, tokens_w, width):
    per = width // 2 // 2 * 2
    table = torch.zeros(tokens_h * tokens_w, width)
    n = 0
    for r in range(tokens_h):
        for c in range(tokens_w):
            for a, coord in enumerate((r, c)):
                for i in range(per // 2):
                    angle = coord / (100.0 ** (2.0 * i / per))
                    table[n, a * per + 2 * i] = math.sin(angle)
                    table[n, a * per + 2 * i + 1] = math.cos(angle)
            n += 1
    return table.unsqueeze(0)


def attention(q, k, v):
    """Scaled dot-product attention (torch >= 2.0 has it built in; Debian 12's torch 1.13 does not)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


def modulate(h, shift, scale):
    return h * (scale + 1) + shift


class Block(nn.Module):
    def __init__(self, w, heads, ratio):
        super().__init__()
        self.heads = heads
        self.modulation = nn.Linear(w, 6 * w)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.fc1 = nn.Linear(w, ratio * w)
        self.fc2 = nn.Linear(ratio * w, w)

    def forward(self, h, c):
        m = self.modulation(c).unsqueeze(1).chunk(6, dim=-1)
        b, n, w = h.shape
        d = w // self.heads
        a = modulate(F.layer_norm(h, [w], eps=1e-6), m[0], m[1])
        q = self.qkv(a).reshape(b, n, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        att = attention(q[0], q[1], q[2])
        h = h + m[2] * self.proj(att.transpose(1, 2).reshape(b, n, w))
        f = modulate(F.layer_norm(h, [w], eps=1e-6), m[3], m[4])
        return h + m[5] * self.fc2(F.gelu(self.fc1(f)))


class Dit(nn.Module):
    def __init__(self, channels=3, size=16, patch=2, width=96, depth=4, heads=4, vocab=23, prompt_len=4, ratio=4):
        super().__init__()
        self.c, self.size, self.p, self.w, self.prompt_len = channels, size, patch, width, prompt_len
        g = size // patch
        self.patch_embed = nn.Linear(channels * patch * patch, width)
        self.register_buffer("fixed_pos", sincos_positions(g, g, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, g * g, width))
        self.time_in = nn.Linear(TIME_FREQ, width)
        self.time_out = nn.Linear(width, width)
        self.token_embed = nn.Embedding(vocab, width)
        self.prompt_pos_embed = nn.Parameter(torch.randn(1, prompt_len, width) * 0.02)
        self.text_proj = nn.Linear(prompt_len * width, width)
        self.text_out = nn.Linear(width, width)
        self.blocks = nn.ModuleList([Block(width, heads, ratio) for _ in range(depth)])
        self.final_modulation = nn.Linear(width, 2 * width)
        self.final_out = nn.Linear(width, channels * patch * patch)

    def patchify(self, x):
        b, p, g = x.shape[0], self.p, self.size // self.p
        return x.reshape(b, self.c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, self.c * p * p)

    def unpatchify(self, t):
        b, p, g = t.shape[0], self.p, self.size // self.p
        return t.reshape(b, g, g, self.c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, self.c, self.size, self.size)

    def forward(self, x, t, cond):
        h = self.patch_embed(self.patchify(x)) + self.fixed_pos + self.pos_embed
        e = self.token_embed(cond) + self.prompt_pos_embed
        c = self.time_out(F.silu(self.time_in(sinusoidal(t, TIME_FREQ)))) + self.text_out(F.silu(self.text_proj(e.flatten(1))))
        cs = F.silu(c)
        for blk in self.blocks:
            h = blk(h, cs)
        mod = self.final_modulation(cs).unsqueeze(1).chunk(2, dim=-1)
        h = modulate(F.layer_norm(h, [self.w], eps=1e-6), mod[0], mod[1])
        return self.unpatchify(self.final_out(h))

    def guided(self, x, t, cond, scale):
        both = self(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, torch.zeros_like(cond)]))
        c, u = both.chunk(2)
        return u + scale * (c - u)


def grad_norm(params):
    return torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in params if p.grad is not None)).item()


def dmd_update(student, fake, teacher, gen_opt, fake_opt, ema, batch, fake_updates, cfg, margin=0.02):
    """One generator update of one-step DMD with its fake updates (Distiller.Update, s = 0)."""
    def cond():
        return torch.randint(1, 23, (batch, 4))

    def times():
        return margin + (1 - margin) * torch.rand(batch)

    for _ in range(fake_updates):
        c = cond()
        with torch.no_grad():
            z = torch.randn(batch, 3, 16, 16)
            v = student(z, torch.ones(batch), c)
            xs = z - v                        # Euler from t = 1 to 0 (flow matching)
        t = times()
        eps = torch.randn_like(xs)
        tb = t.reshape(-1, 1, 1, 1)
        xt = (1 - tb) * xs + tb * eps
        pred = fake(xt, t, c)
        loss = ((pred - (eps - xs)) ** 2).flatten(1).mean(1).mean()
        fake_opt.zero_grad()
        loss.backward()
        value = loss.item()
        if math.isfinite(value) and math.isfinite(grad_norm(list(fake.parameters()))):
            fake_opt.step()
    c = cond()
    z = torch.randn(batch, 3, 16, 16)
    v = student(z, torch.ones(batch), c)
    x0s = z - v
    t = times()
    with torch.no_grad():
        eps = torch.randn_like(x0s)
        tb = t.reshape(-1, 1, 1, 1)
        xt = (1 - tb) * x0s.detach() + tb * eps
        vt = teacher.guided(xt, t, c, cfg)
        vf = fake(xt, t, c)
        x0t = xt - tb * vt
        x0f = xt - tb * vf
        norm = (x0s.detach() - x0t).abs().flatten(1).mean(1).clamp_min(1e-4).reshape(-1, 1, 1, 1)
        g = torch.nan_to_num((x0f - x0t) / norm)
    loss = 0.5 * ((x0s - (x0s - g).detach()) ** 2).flatten(1).sum(1).mean()
    gen_opt.zero_grad()
    loss.backward()
    loss.item()
    params = [p for p in student.parameters() if p.requires_grad]
    if math.isfinite(grad_norm(params)):
        gen_opt.step()
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(0.99).add_(p.detach(), alpha=0.01)


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32, help="DMD batch (bench's DiT default)")
    ap.add_argument("--fake-updates", type=int, default=2)
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument("--cfg", type=float, default=3.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", help="write the result here as well as to stdout")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    teacher = Dit()
    for p in teacher.parameters():
        nn.init.normal_(p, 0, 0.02) if p.abs().max() == 0 else None
    teacher.eval().requires_grad_(False)
    student = Dit()
    student.load_state_dict(teacher.state_dict())
    student.requires_grad_(True)
    fake = Dit()
    fake.load_state_dict(teacher.state_dict())
    gen_opt = torch.optim.AdamW(student.parameters(), lr=1e-4, betas=(0.0, 0.999), weight_decay=0.0)
    fake_opt = torch.optim.AdamW(fake.parameters(), lr=1e-4, betas=(0.0, 0.999), weight_decay=0.0)
    ema = [p.detach().clone() for p in student.parameters()]
    dmd = timed(lambda: dmd_update(student, fake, teacher, gen_opt, fake_opt, ema, a.batch, a.fake_updates, a.cfg), a.warmup, a.repeats)

    model = Dit()
    for p in model.parameters():
        nn.init.normal_(p, 0, 0.02) if p.abs().max() == 0 else None
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x0 = torch.rand(a.train_batch, 3, 16, 16) * 2 - 1
    prompts = torch.randint(1, 23, (a.train_batch, 4))

    def train_step():
        t = torch.rand(a.train_batch)
        eps = torch.randn_like(x0)
        tb = t.reshape(-1, 1, 1, 1)
        xt = (1 - tb) * x0 + tb * eps
        loss = F.mse_loss(model(xt, t, prompts), eps - x0)
        loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()

    train = timed(train_step, a.warmup, a.repeats)
    config = torch.__config__.show()
    blas = next((line.strip() for line in config.splitlines() if "BLAS" in line), "unknown")
    result = {
        "torch_version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
        "dmd_update_seconds": dmd, "train_step_seconds": train,
        "environment": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "MKL_NUM_THREADS") if os.environ.get(k)},
        "parallel_info": torch.__config__.parallel_info().splitlines()[:6],
    }
    text = json.dumps(result)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
