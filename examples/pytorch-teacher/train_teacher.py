#!/usr/bin/env python3
"""Train a small teacher in PyTorch on a 2-D Gaussian mixture and save it as TorchScript.

This is the "your own PyTorch model" side of PhasedDmd: a user's teacher, trained outside the
project, that `phased-dmd import-teacher` brings in. Three tasks:

  mixture      6 Gaussians (a pentagon and its centre, unequal weights). Writes teacher.pt,
               whose forward(x, t) returns the prediction, and mixture.json, the exact
               distribution (for `phased-dmd eval --mixture`).
  imbalanced   5 Gaussians, weights 0.35 / 0.25 / 0.20 / 0.12 / 0.08, stds 0.10 - 0.25, the
               smallest mode far out: the hard case for keeping a teacher's modes.
  conditional  4 classes, one Gaussian each. Writes teacher.pt with forward(x, t, cond), cond a
               batch of class ids; conditions.safetensors ('cond': the ids 0..3, 'null': id 4, the
               learnt "no class" used by classifier-free guidance); names.txt (the classes' names);
               mixture.json (all classes together, weighted equally).

Schedules and predictions (docs/import.md maps each to import-teacher's options):
  --schedule flow (default)  x_t = (1 - t) x_0 + t eps, t uniform in [0, 1]; --prediction velocity
                             (the default: eps - x_0, fed t) or x0 (fed timesteps = t * 1000; with EDM's
                             preconditioning unless --precondition none).
  --schedule sd              Stable Diffusion's: a discrete VP schedule with scaled-linear betas
                             (0.00085 to 0.012, 1000 timesteps), fed the integer timestep, predicting
                             epsilon (the default), x0 or v_prediction; writes scheduler_config.json
                             as diffusers does, for `import-teacher --scheduler-config`.
Conditional training drops the class to 'null' 10 % of the time.

usage: /usr/bin/python3 train_teacher.py --task mixture|imbalanced|conditional --out DIR
                                         [--schedule flow|sd] [--prediction P]
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
from typing import Tuple

import torch

MIXTURE = {  # a pentagon of radius 3 and its centre
    "means": [[0.0, 0.0]] + [[round(3 * math.cos(2 * math.pi * k / 5 + math.pi / 2), 6),
                              round(3 * math.sin(2 * math.pi * k / 5 + math.pi / 2), 6)] for k in range(5)],
    "stds": [0.3] * 6,
    "weights": [0.2, 0.24, 0.16, 0.16, 0.12, 0.12],
}
IMBALANCED = {  # the means of tests/PhasedDmd.Tests/Interop/make_mixture_teachers.py
    "means": [[0.0, 0.0], [2.0, 1.0], [-1.5, 1.5], [1.0, -2.0], [4.5, 4.0]],
    "stds": [0.25, 0.15, 0.2, 0.1, 0.1],
    "weights": [0.35, 0.25, 0.2, 0.12, 0.08],
}
SD_BETAS = (0.00085, 0.012, 1000)   # Stable Diffusion 1.x / 2.x: scaled_linear betas over 1000 timesteps
CLASSES = {
    "names": ["northeast", "northwest", "southwest", "southeast"],
    "means": [[2.5, 2.5], [-2.5, 2.5], [-2.5, -2.5], [2.5, -2.5]],
    "std": 0.4,
}


def time_features(t: torch.Tensor, per_unit: float) -> torch.Tensor:
    """Sinusoidal features of t * per_unit (per_unit 1000 for a time in [0, 1], 1 for timesteps in [0, 1000])."""
    freqs = torch.exp(torch.arange(16, dtype=torch.float32, device=t.device) * (-math.log(1000.0) / 15))
    args = (t * per_unit).float().unsqueeze(-1) * freqs
    return torch.cat([args.sin(), args.cos()], dim=-1)


class Flow(torch.nn.Module):
    """forward(x, t) -> prediction: an MLP on [x, time features]; t in [0, 1] (per_unit 1000) or timesteps (per_unit 1).

    With sigma_data > 0 it is an x0 network fed timesteps = t * 1000 with EDM's preconditioning (Karras et al.
    2022) written for flow matching, x_t = (1 - t) x0 + t eps: x0_hat = c_skip x_t + c_out F(c_in x_t, t), where
    var = (1 - t)^2 sigma_data^2 + t^2, c_in = 1 / sqrt(var), c_skip = (1 - t) sigma_data^2 / var and
    c_out = t sigma_data / sqrt(var). As t -> 0 the output tends to x_t itself, as a denoiser's should.
    """

    per_unit: float
    sigma_data: float

    def __init__(self, hidden: int = 128, layers: int = 4, per_unit: float = 1000.0, sigma_data: float = 0.0):
        super().__init__()
        self.per_unit = per_unit
        self.sigma_data = sigma_data
        self.inp = torch.nn.Linear(2 + 32, hidden)
        self.hidden = torch.nn.ModuleList([torch.nn.Linear(hidden, hidden) for _ in range(layers - 2)])
        self.out = torch.nn.Linear(hidden, 2)

    def trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.silu(h)
        for layer in self.hidden:
            h = torch.nn.functional.silu(layer(h))
        return self.out(h)

    def coefficients(self, t: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(c_in, c_skip, c_out) of the preconditioned x0 network at timesteps t (= 1000 x the flow time)."""
        s = (t / 1000.0).unsqueeze(1)
        a, d2 = 1.0 - s, self.sigma_data * self.sigma_data
        var = a * a * d2 + s * s
        return var.rsqrt(), a * d2 / var, s * self.sigma_data * var.rsqrt()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.head(x, t, self.inp(torch.cat([self.scaled(x, t), time_features(t, self.per_unit)], dim=1)))

    def scaled(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.sigma_data <= 0.0:
            return x
        return self.coefficients(t)[0] * x

    def head(self, x: torch.Tensor, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if self.sigma_data <= 0.0:
            return self.trunk(h)
        _, skip, out = self.coefficients(t)
        return skip * x + out * self.trunk(h)


class ConditionalFlow(Flow):
    """forward(x, t, cond) -> velocity, cond a batch of class ids (the last id is 'no class')."""

    def __init__(self, classes: int, hidden: int = 128, layers: int = 4, per_unit: float = 1000.0, sigma_data: float = 0.0):
        super().__init__(hidden, layers, per_unit, sigma_data)
        self.embed = torch.nn.Embedding(classes + 1, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([self.scaled(x, t), time_features(t, self.per_unit)], dim=1)) + self.embed(cond)
        return self.head(x, t, h)


def sd_alphas_cumprod() -> torch.Tensor:
    """alpha-bar of the scaled-linear schedule, as diffusers computes it (float32 betas)."""
    start, end, n = SD_BETAS
    betas = torch.linspace(start ** 0.5, end ** 0.5, n, dtype=torch.float32) ** 2
    return torch.cumprod(1 - betas, dim=0)


def noised(schedule: str, prediction: str, x0: torch.Tensor, eps: torch.Tensor, n: int, g: torch.Generator):
    """(x_t, the time fed to the network, the regression target) for a batch."""
    if schedule == "sd":
        timesteps = torch.randint(0, SD_BETAS[2], (n,), generator=g)
        bar = sd_alphas_cumprod()[timesteps].unsqueeze(1)
        a, s = bar.sqrt(), (1 - bar).sqrt()
        target = {"epsilon": eps, "x0": x0, "v_prediction": a * eps - s * x0}[prediction]
        return a * x0 + s * eps, timesteps.float(), target
    t = torch.rand(n, generator=g)
    xt = (1 - t).unsqueeze(1) * x0 + t.unsqueeze(1) * eps
    if prediction == "velocity":
        return xt, t, eps - x0
    return xt, t * 1000.0, x0   # x0 prediction fed timesteps = t * 1000


def sample_data(task: str, n: int, g: torch.Generator):
    """(x_0 [n, 2], class ids [n] or None)."""
    if task in ("mixture", "imbalanced"):
        mixture = MIXTURE if task == "mixture" else IMBALANCED
        k = torch.multinomial(torch.tensor(mixture["weights"]), n, replacement=True, generator=g)
        means, stds = torch.tensor(mixture["means"]), torch.tensor(mixture["stds"])
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
    parser.add_argument("--task", choices=["mixture", "imbalanced", "conditional"], required=True)
    parser.add_argument("--schedule", choices=["flow", "sd"], default="flow",
                        help="flow matching (default) or Stable Diffusion's discrete scaled-linear VP schedule")
    parser.add_argument("--prediction", choices=["velocity", "x0", "epsilon", "v_prediction"],
                        help="what the network predicts (default: velocity for flow, epsilon for sd)")
    parser.add_argument("--precondition", choices=["edm", "none"],
                        help="an x0 network on the flow schedule: EDM's preconditioning (the default: x0_hat = c_skip x_t "
                             "+ c_out F, trained with EDM's weight 1/c_out^2) or none (a bare MLP that outputs x0, trained "
                             "with an unweighted x0 loss)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--iterations", type=int, default=4000, help="training iterations (default 4000)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    prediction = args.prediction or ("velocity" if args.schedule == "flow" else "epsilon")
    if (args.schedule == "flow") != (prediction in ("velocity", "x0")):
        parser.error(f"--prediction {prediction} does not go with --schedule {args.schedule} (flow: velocity or x0; sd: epsilon, x0 or v_prediction)")
    if args.precondition is not None and (args.schedule, prediction) != ("flow", "x0"):
        parser.error("--precondition applies to --prediction x0 on the flow schedule")
    per_unit = 1000.0 if (args.schedule, prediction) == ("flow", "velocity") else 1.0   # t in [0, 1], or timesteps
    edm = (args.schedule, prediction) == ("flow", "x0") and (args.precondition or "edm") == "edm"
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    classes = len(CLASSES["names"])
    sigma_data = float(sample_data(args.task, 1 << 16, torch.Generator().manual_seed(args.seed + 1))[0].std()) if edm else 0.0
    net = (ConditionalFlow(classes, per_unit=per_unit, sigma_data=sigma_data) if args.task == "conditional"
           else Flow(per_unit=per_unit, sigma_data=sigma_data))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iterations, eta_min=1e-5)
    start = time.time()
    for it in range(1, args.iterations + 1):
        x0, k = sample_data(args.task, args.batch_size, g)
        eps = torch.randn(x0.shape, generator=g)
        xt, t, target = noised(args.schedule, prediction, x0, eps, args.batch_size, g)
        if k is None:
            pred = net(xt, t)
        else:
            drop = torch.rand(args.batch_size, generator=g) < 0.1
            pred = net(xt, t, torch.where(drop, torch.full_like(k, classes), k))
        if edm:   # EDM's weight 1 / c_out^2: the loss of F, the preconditioned network's own output
            loss = (((pred - target) / net.coefficients(t)[2].clamp_min(1e-4)) ** 2).mean()
        else:
            loss = ((pred - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 500 == 0 or it == args.iterations:
            print(f"iteration {it}/{args.iterations}  loss {loss.item():.4f}  {time.time() - start:.0f} s", flush=True)

    os.makedirs(args.out, exist_ok=True)
    net.eval()
    torch.jit.script(net).save(os.path.join(args.out, "teacher.pt"))
    if args.schedule == "sd":
        start, end, n = SD_BETAS
        with open(os.path.join(args.out, "scheduler_config.json"), "w") as f:
            json.dump({"_class_name": "DDIMScheduler", "_diffusers_version": "0.30.0", "beta_end": end, "beta_schedule": "scaled_linear",
                       "beta_start": start, "clip_sample": False, "num_train_timesteps": n, "prediction_type": prediction,
                       "set_alpha_to_one": False, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None}, f, indent=2)
    if args.task in ("mixture", "imbalanced"):
        mixture = MIXTURE if args.task == "mixture" else IMBALANCED
    else:
        write_safetensors(os.path.join(args.out, "conditions.safetensors"),
                          {"cond": torch.arange(classes), "null": torch.tensor([classes])})
        with open(os.path.join(args.out, "names.txt"), "w") as f:
            f.write("\n".join(CLASSES["names"]) + "\n")
        mixture = {"means": CLASSES["means"], "stds": [CLASSES["std"]] * classes, "weights": [1 / classes] * classes}
    with open(os.path.join(args.out, "mixture.json"), "w") as f:
        json.dump(mixture, f, indent=2)
    print(f"wrote {args.out}/teacher.pt and mixture.json" + (", conditions.safetensors, names.txt" if args.task == "conditional" else "")
          + (", scheduler_config.json" if args.schedule == "sd" else "") + f" ({prediction} prediction" + (f", EDM preconditioning, sigma_data {sigma_data:.3f}" if edm else "") + ")")


if __name__ == "__main__":
    main()
