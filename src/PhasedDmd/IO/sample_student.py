#!/usr/bin/env python3
"""Reference sampler of a few-step student exported by `phased-dmd export` (needs PyTorch only).

Reads student.json beside this file, loads the experts (TorchScript files, or MLP weights as
safetensors), and runs the student's steps: step i evaluates the expert of its phase at time
t_i, reads x_0, eps and the velocity v = dx/dt from the expert's prediction, and moves x to
t_{i+1} (Euler: x <- x + (t_{i+1} - t_i) v; DDIM: x <- alpha_{i+1} x_0 + sigma_{i+1} eps). The output CSV has one flattened sample per row, like
`phased-dmd sample --out`; given the same --noise file, both produce the same samples.

usage: python3 sample_student.py [--n N] [--seed S] [--noise IN.csv] [--prompt P ...]
                                 [--out OUT.csv] [--device cpu|cuda]
"""
import argparse
import csv
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
          "U8": torch.uint8, "BOOL": torch.bool}


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    """The tensors of a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        raw = bytearray(data[8 + length + begin:8 + length + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def discrete_log_alpha_bar(name):
    """The log-alpha-bar table [T + 1] of 'vp-discrete:BETA_SCHEDULE:BETA_START:BETA_END:T' (index p = timestep + 1)."""
    _, kind, start, end, n = name.split(":")
    start, end, n = float(start), float(end), int(n)
    if kind == "linear":
        betas = [start + (end - start) * i / (n - 1) for i in range(n)]
    elif kind == "scaled_linear":
        betas = [(math.sqrt(start) + (math.sqrt(end) - math.sqrt(start)) * i / (n - 1)) ** 2 for i in range(n)]
    elif kind == "squaredcos_cap_v2":
        bar = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = [min(1 - bar((i + 1) / n) / bar(i / n), 0.999) for i in range(n)]
    else:
        fail(f"unknown beta schedule '{kind}'")
    table = [0.0]
    for b in betas:
        table.append(table[-1] + math.log(1 - b))
    return torch.tensor(table, dtype=torch.float64)


def coefficients(schedule, t):
    """alpha_t, sigma_t and their derivatives (x_t = alpha x_0 + sigma eps)."""
    if schedule == "flow":
        return 1 - t, t, -torch.ones_like(t), torch.ones_like(t)
    if schedule == "vp-cosine":
        h = math.pi / 2
        return (t * h).cos(), (t * h).sin(), (t * h).sin() * -h, (t * h).cos() * h
    if schedule.startswith("vp-discrete:"):
        # log alpha-bar linear between the training timesteps; t = 1 is the last one (docs/method.md section 1.1).
        table = discrete_log_alpha_bar(schedule).to(t.device)
        n = table.shape[0] - 1
        p = t.double().clamp(0, 1) * n
        j = p.floor().clamp(max=n - 1).long()
        slope = table[j + 1] - table[j]
        log_bar = table[j] + (p - j.double()) * slope
        slope = slope * n
        a = (log_bar / 2).exp()
        s = (1 - log_bar.exp()).clamp(min=0).sqrt()
        return a.to(t.dtype), s.to(t.dtype), (a * slope / 2).to(t.dtype), (-log_bar.exp() * slope / (2 * s)).to(t.dtype)
    fail(f"unknown schedule '{schedule}'")


def network_time(schedule, t, scale):
    """The time the network was trained with: t * scale, or the training timestep t * T - 1 on a discrete schedule."""
    if schedule.startswith("vp-discrete:"):
        return (t * float(schedule.split(":")[4]) - 1).clamp(min=0)
    return t * scale


EPSILON_NOISE_RATIO = 15.0   # PhasedDmd.Diffusion.Predictions.EpsilonNoiseRatio


def epsilon_limit(schedule):
    """The latest t with sigma_t / alpha_t <= 15 (1 if the schedule never exceeds it), by bisection as PhasedDmd does."""
    def ratio_ok(t):
        a, s, _, _ = coefficients(schedule, torch.tensor([t], dtype=torch.float64))
        return s.item() <= EPSILON_NOISE_RATIO * a.item()
    if ratio_ok(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if ratio_ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def safe_time(schedule, prediction, t):
    """x0 does not determine the velocity at sigma = 0, nor epsilon x0 near alpha = 0: read them inside those ends."""
    if prediction == "x0":
        return t.clamp(min=1e-4)
    if prediction == "epsilon":
        return t.clamp(1e-4, epsilon_limit(schedule))
    return t


def views(prediction, schedule, x, out, t):
    """(x0, eps, velocity) from the network's prediction f = a x_0 + b eps at x (t of shape [B, 1, ...])."""
    a, s, da, ds = coefficients(schedule, t)
    if prediction == "velocity":
        det = a * ds - s * da
        return (ds * x - s * out) / det, (a * out - da * x) / det, out
    if prediction == "x0":
        return out, (x - a * out) / s, da * out + ds * (x - a * out) / s
    if prediction == "epsilon":
        return (x - s * out) / a, out, da * (x - s * out) / a + ds * out
    if prediction == "v_prediction":
        det = a * a + s * s
        x0, eps = (a * x - s * out) / det, (a * out + s * x) / det
        return x0, eps, da * x0 + ds * eps
    fail(f"unknown prediction '{prediction}'")


class Mlp(torch.nn.Module):
    """The project's velocity MLP: [x, emb(t)] -> Linear -> SiLU -> ... -> Linear, an optional class embedding."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        dims = [spec["data_dim"] + spec["time_embed_dim"]] + [spec["hidden"]] * (spec["layers"] - 1) + [spec["data_dim"]]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:]))
        classes = spec["num_classes"]
        self.class_embedding = torch.nn.Embedding(classes + 1, spec["hidden"]) if classes > 0 else None

    def forward(self, x, t, cond=None):
        half = self.spec["time_embed_dim"] // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=x.device) * (-math.log(1000.0) / max(half - 1, 1)))
        args = (t.float() * 1000.0).unsqueeze(-1) * freqs.unsqueeze(0)
        h = self.layers[0](torch.cat([x, args.sin(), args.cos()], dim=-1))
        if self.class_embedding is not None:
            if cond is None:
                cond = torch.full((x.shape[0],), self.spec["num_classes"], dtype=torch.int64, device=x.device)
            h = h + self.class_embedding(cond)
        h = torch.nn.functional.silu(h)
        for layer in self.layers[1:-1]:
            h = torch.nn.functional.silu(layer(h))
        return self.layers[-1](h)


def load_expert(student, file, device):
    path = os.path.join(HERE, file)
    kind = student["network"]["kind"]
    if kind == "torchscript":
        return torch.jit.load(path, map_location=device).eval()
    if kind == "mlp":
        net = Mlp(student["network"])
        net.load_state_dict(read_safetensors(path), strict=True)
        return net.to(device).eval()
    fail(f"{kind} experts are exported as weights only ({file}); this script samples TorchScript and MLP students")


def read_noise(path, shape):
    size = math.prod(shape)
    rows = []
    with open(path, newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            try:
                values = [float(v) for v in row]
            except ValueError:
                if number == 1:
                    continue   # a header row
                fail(f"{path} line {number}: not numbers")
            if len(values) != size:
                fail(f"{path} line {number}: {len(values)} values, but a sample has {size}")
            rows.append(values)
    if not rows:
        fail(f"{path} holds no samples")
    return torch.tensor(rows, dtype=torch.float32).reshape([len(rows)] + shape)


def conditions_for(student, prompts, n, generator):
    """[n * len(prompts)] rows of the condition (or n drawn at random without --prompt); None for unconditional students."""
    spec = student["conditions"]
    if spec is None:
        if prompts:
            fail("--prompt: this student is unconditional")
        return None, 1
    if spec["kind"] == "file":
        cond = read_safetensors(os.path.join(HERE, spec["file"]))["cond"]
        names = spec["names"]
        count = cond.shape[0]
    elif spec["kind"] == "classes":
        count = spec["count"]
        cond = torch.arange(count)
        names = [str(i) for i in range(count)]
    else:
        fail(f"conditions of kind '{spec['kind']}' are not supported by this script")
    if not prompts:
        weights = torch.tensor(spec.get("weights") or [1.0] * count, dtype=torch.float64)
        return cond[torch.multinomial(weights, n, replacement=True, generator=generator)], 1
    rows = []
    for value in (p.strip() for given in prompts for p in given.split(",") if p.strip()):
        if value in names:
            rows.append(names.index(value))
        elif value.isdigit() and int(value) < count:
            rows.append(int(value))
        else:
            fail(f"--prompt: '{value}' is not a row of the conditions (names: {', '.join(names[:12])})")
    return torch.cat([cond[[r] * n] for r in rows]), len(rows)


def sample(student, experts, x, cond, generator):
    schedule, prediction, scale = student["schedule"], student["prediction"], student["time_scale"]
    times, owners, solver = student["step_times"], student["step_experts"], student["solver"]
    with torch.no_grad():
        for i in range(len(times) - 1):
            t, t_next = times[i], times[i + 1]
            tt = safe_time(schedule, prediction, torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device))
            net = experts[owners[i]]
            tn = network_time(schedule, tt, scale)
            out = net(x, tn) if cond is None else net(x, tn, cond)
            te = tt[:1].reshape([]) if prediction != "velocity" else torch.tensor(t, dtype=x.dtype, device=x.device)
            x0, eps, v = views(prediction, schedule, x, out, te)
            if solver == "ddim":
                if t_next == 0.0:
                    x = x0
                else:
                    a, s, _, _ = coefficients(schedule, torch.tensor(t_next, dtype=x.dtype, device=x.device))
                    x = a * x0 + s * eps
            elif solver == "euler" or t_next == 0.0:
                x = x + (t_next - t) * v
            else:   # renoise: predict x_0, then noise it to t_next with fresh noise
                a, s, _, _ = coefficients(schedule, torch.tensor(t_next, dtype=x.dtype, device=x.device))
                x = a * x0 + s * torch.randn(x.shape, generator=generator).to(x.device)
    return x


def main():
    parser = argparse.ArgumentParser(description="Sample a PhasedDmd student exported by `phased-dmd export`.")
    parser.add_argument("--n", type=int, default=1000, help="number of samples per prompt (default 1000; with --noise, its rows)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise, of drawn conditions and of renoise steps (default 0)")
    parser.add_argument("--noise", help="start from this noise: a CSV with one flattened sample per row (a header row is allowed)")
    parser.add_argument("--prompt", action="append", default=[], help="a row of the conditions by name or index (repeatable or comma-separated)")
    parser.add_argument("--out", default="samples.csv", help="output CSV, one flattened sample per row (default samples.csv)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = parser.parse_args()
    with open(os.path.join(HERE, "student.json")) as f:
        student = json.load(f)
    if student.get("format") != "phased-dmd-student":
        fail("student.json is not a PhasedDmd student export")
    shape = student["sample_shape"]
    generator = torch.Generator().manual_seed(args.seed)
    if args.noise:
        noise = read_noise(args.noise, shape)
    else:
        if args.n < 1:
            fail("--n must be >= 1")
        noise = torch.randn([args.n] + shape, generator=generator)
    device = torch.device(args.device)
    experts = [load_expert(student, file, device) for file in student["experts"]]
    cond, repeats = conditions_for(student, args.prompt, noise.shape[0], generator)
    x = torch.cat([noise] * repeats).to(device)
    samples = sample(student, experts, x, None if cond is None else cond.to(device), generator).cpu()
    flat = samples.reshape(samples.shape[0], -1)
    columns = ["xyz"[i] if i < 3 else f"x{i}" for i in range(flat.shape[1])]
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([repr(v) for v in row] for row in flat.tolist())
    print(f"wrote {flat.shape[0]} samples to {args.out}")


if __name__ == "__main__":
    main()
