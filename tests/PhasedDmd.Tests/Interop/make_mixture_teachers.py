"""Exact teachers of an imbalanced 2-D Gaussian mixture, written as TorchScript with real PyTorch.

mixture_<prediction>_<scale>.pt: the closed-form flow-matching predictor of the mixture in MIXTURE
(x_t = (1 - t) x_0 + t eps) for prediction velocity, x0 and epsilon, taking the time as t * scale
(scale 1 and 1000). Per component k (mean m, std s, weight w), with V = (1 - t)^2 s^2 + t^2 and
d = x_t - (1 - t) m: x_t | k ~ N((1 - t) m, V I), E[x_0 | x_t, k] = m + (1 - t) s^2 d / V,
E[eps | x_t, k] = t d / V; the predictor averages them with the posterior weights of the components.
A small MLP correction on [x, t] whose last layer starts at zero is added to the output, so that the
teacher is exact and its trainable copies (experts, fake scores) have something to train; its
initial weights are the same in all six files. The six differ only in what the module predicts and
how it reads the time, so distilling each with one seed isolates what the distillation does with
the parameterisation. mixture_velocity_1000_frozen.pt is the velocity teacher saved with every
parameter's requires_grad off (as EMA copies and frozen models are); mixture.json is the exact mixture.

sd_<prediction>.pt (epsilon, v_prediction): the same mixture's exact predictor on Stable Diffusion's
schedule (discrete VP, scaled-linear betas 0.00085 to 0.012, T = 1000), fed the timestep j: x_j =
sqrt(abar_j) x_0 + sqrt(1 - abar_j) eps, log abar linear between timesteps (log abar = 0 at j = -1).
scheduler_config_<prediction>.json are their diffusers scheduler configs.

usage: /usr/bin/python3 make_mixture_teachers.py OUT_DIR
"""
import json
import sys

import torch

MIXTURE = {
    "means": [[0.0, 0.0], [2.0, 1.0], [-1.5, 1.5], [1.0, -2.0], [4.5, 4.0]],
    "stds": [0.25, 0.15, 0.2, 0.1, 0.1],
    "weights": [0.35, 0.25, 0.2, 0.12, 0.08],
}


def correction() -> torch.nn.Module:
    """The trainable part: an MLP on [x, t] whose last layer is zero (the same initial weights everywhere)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 128), torch.nn.SiLU(), torch.nn.Linear(128, 128), torch.nn.SiLU(), torch.nn.Linear(128, 2))
    torch.nn.init.zeros_(net[4].weight)
    torch.nn.init.zeros_(net[4].bias)
    return net



class ExactMixture(torch.nn.Module):
    def __init__(self, prediction: str, scale: float):
        super().__init__()
        self.prediction = prediction
        self.scale = scale
        self.register_buffer("means", torch.tensor(MIXTURE["means"]))
        self.register_buffer("stds", torch.tensor(MIXTURE["stds"]))
        self.register_buffer("log_weights", torch.tensor(MIXTURE["weights"]).log())
        self.correction = correction()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = (t / self.scale).reshape(-1, 1, 1)                     # [B, 1, 1]
        s2 = (self.stds ** 2).reshape(1, -1, 1)                      # [1, K, 1]
        v = (1 - tt) ** 2 * s2 + tt ** 2                             # [B, K, 1]
        d = x.unsqueeze(1) - (1 - tt) * self.means.unsqueeze(0)      # [B, K, 2]
        log_p = self.log_weights - 0.5 * (d ** 2).sum(-1) / v.squeeze(-1) - v.squeeze(-1).log()   # 2-D: log N up to a constant
        r = torch.softmax(log_p, dim=1).unsqueeze(-1)                # [B, K, 1]
        x0 = (r * (self.means.unsqueeze(0) + (1 - tt) * s2 * d / v)).sum(1)
        eps = (r * (tt * d / v)).sum(1)
        if self.prediction == "x0":
            out = x0
        elif self.prediction == "epsilon":
            out = eps
        else:
            out = eps - x0
        return out + self.correction(torch.cat([x, tt.reshape(-1, 1)], dim=1))


SD = (0.00085, 0.012, 1000)


class ExactMixtureSd(torch.nn.Module):
    """The exact predictor on the discrete scaled-linear VP schedule, fed the timestep j (real-valued between steps)."""

    def __init__(self, prediction: str):
        super().__init__()
        self.prediction = prediction
        self.register_buffer("means", torch.tensor(MIXTURE["means"], dtype=torch.float64))
        self.register_buffer("stds", torch.tensor(MIXTURE["stds"], dtype=torch.float64))
        self.register_buffer("log_weights", torch.tensor(MIXTURE["weights"], dtype=torch.float64).log())
        start, end, n = SD
        betas = torch.linspace(start ** 0.5, end ** 0.5, n, dtype=torch.float64) ** 2
        self.register_buffer("log_abar", torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(torch.log(1 - betas), 0)]))
        self.correction = correction()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = self.log_abar.shape[0] - 1
        p = (t.double() + 1).clamp(0, float(n))                     # table index: timestep + 1
        j = p.floor().clamp(max=n - 1).long()
        log_abar = self.log_abar[j] + (p - j.double()) * (self.log_abar[j + 1] - self.log_abar[j])
        a = (log_abar / 2).exp().reshape(-1, 1, 1)
        s = (1 - log_abar.exp()).clamp(min=0).sqrt().reshape(-1, 1, 1)
        xd = x.double()
        s2 = (self.stds ** 2).reshape(1, -1, 1)
        v = a ** 2 * s2 + s ** 2
        d = xd.unsqueeze(1) - a * self.means.unsqueeze(0)
        log_p = self.log_weights - 0.5 * (d ** 2).sum(-1) / v.squeeze(-1) - v.squeeze(-1).log()
        r = torch.softmax(log_p, dim=1).unsqueeze(-1)
        x0 = (r * (self.means.unsqueeze(0) + a * s2 * d / v)).sum(1)
        eps = (r * (s * d / v)).sum(1)
        a, s = a.reshape(-1, 1), s.reshape(-1, 1)
        out = eps if self.prediction == "epsilon" else a * eps - s * x0
        return out.float() + self.correction(torch.cat([x, (t / n).reshape(-1, 1)], dim=1))


def main(out: str) -> None:
    for prediction in ("velocity", "x0", "epsilon"):
        for scale in (1, 1000):
            torch.jit.script(ExactMixture(prediction, float(scale))).save(f"{out}/mixture_{prediction}_{scale}.pt")
    frozen = ExactMixture("velocity", 1000.0)
    for p in frozen.parameters():
        p.requires_grad_(False)
    torch.jit.script(frozen).save(f"{out}/mixture_velocity_1000_frozen.pt")
    with open(f"{out}/mixture.json", "w") as f:
        json.dump(MIXTURE, f, indent=2)
    for prediction in ("epsilon", "v_prediction"):
        torch.jit.script(ExactMixtureSd(prediction)).save(f"{out}/sd_{prediction}.pt")
        with open(f"{out}/scheduler_config_{prediction}.json", "w") as f:
            json.dump({"_class_name": "DDIMScheduler", "_diffusers_version": "0.30.0", "beta_end": SD[1], "beta_schedule": "scaled_linear",
                       "beta_start": SD[0], "clip_sample": False, "num_train_timesteps": SD[2], "prediction_type": prediction,
                       "set_alpha_to_one": False, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
