"""TorchScript teachers for the import tests, written with real PyTorch (Debian's python3-torch).

gaussian_<prediction>.pt: the exact flow-matching predictor of 2-D Gaussian data N(m, s^2 I) under
x_t = (1 - t) x_0 + t eps, written for each prediction type, taking t * 1000 (the timesteps
convention). With V = (1 - t)^2 s^2 + t^2 and d = x_t - (1 - t) m:
  E[x_0 | x_t] = m + (1 - t) s^2 d / V,  E[eps | x_t] = t d / V,  E[eps - x_0 | x_t] = -m + (t - (1 - t) s^2) d / V.
m and log s are parameters (so a student has something to train), plus a linear correction that
starts at zero. image_conditional.pt is a small class-conditional image module, forward(x [B, 1, 8, 8], t, cond)
with cond a class id of conditional/conditions.safetensors (ids 0..3, null 4): what an imported image teacher's
defaults are checked on. The other files are bad inputs: not TorchScript, a wrong signature, a wrong output
shape, and NaN outputs.

usage: make_teachers.py OUT_DIR
"""
import sys
import torch

MEAN = [1.5, -0.5]
STD = 0.5


class Gaussian(torch.nn.Module):
    def __init__(self, prediction: str):
        super().__init__()
        self.prediction = prediction
        self.mean = torch.nn.Parameter(torch.tensor(MEAN))
        self.log_std = torch.nn.Parameter(torch.tensor(STD).log())
        self.correction = torch.nn.Linear(3, 2)
        torch.nn.init.zeros_(self.correction.weight)
        torch.nn.init.zeros_(self.correction.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = (t / 1000.0).reshape(-1, 1)   # the timesteps convention: t * 1000
        s2 = torch.exp(2 * self.log_std)
        v = (1 - t) ** 2 * s2 + t ** 2
        d = x - (1 - t) * self.mean
        if self.prediction == "x0":
            out = self.mean + (1 - t) * s2 * d / v
        elif self.prediction == "epsilon":
            out = t * d / v
        else:
            out = -self.mean + (t - (1 - t) * s2) * d / v
        return out + self.correction(torch.cat([x, t], dim=1))


class LoRA(torch.nn.Module):
    """y = base(x) + (alpha / r) B A x, B zero-initialised (the PEFT convention and key names)."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Linear(base.in_features, rank, bias=False)
        self.lora_B = torch.nn.Linear(rank, base.out_features, bias=False)
        torch.nn.init.zeros_(self.lora_B.weight)
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scale


class GaussianLora(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.mean = torch.nn.Parameter(torch.tensor(MEAN))
        self.log_std = torch.nn.Parameter(torch.tensor(STD).log())
        self.hidden = LoRA(torch.nn.Linear(3, 16), rank=2, alpha=4.0)
        self.out = LoRA(torch.nn.Linear(16, 2), rank=2, alpha=4.0)
        torch.nn.init.zeros_(self.out.base.weight)
        torch.nn.init.zeros_(self.out.base.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = (t / 1000.0).reshape(-1, 1)
        s2 = torch.exp(2 * self.log_std)
        v = (1 - t) ** 2 * s2 + t ** 2
        d = x - (1 - t) * self.mean
        exact = -self.mean + (t - (1 - t) * s2) * d / v
        return exact + self.out(torch.nn.functional.silu(self.hidden(torch.cat([x, t], dim=1))))


class ImageConditional(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)
        self.embed = torch.nn.Embedding(5, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.embed(cond).reshape(-1, 1, 1, 1) + (t / 1000.0).reshape(-1, 1, 1, 1)


class OneInput(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class WrongShape(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


class NotFinite(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


def main(out: str) -> None:
    for prediction in ("velocity", "x0", "epsilon"):
        torch.jit.script(Gaussian(prediction)).save(f"{out}/gaussian_{prediction}.pt")
    torch.jit.script(GaussianLora()).save(f"{out}/gaussian_lora.pt")
    torch.jit.script(ImageConditional()).save(f"{out}/image_conditional.pt")
    torch.jit.script(OneInput()).save(f"{out}/one_input.pt")
    torch.jit.script(WrongShape()).save(f"{out}/wrong_shape.pt")
    torch.jit.script(NotFinite()).save(f"{out}/not_finite.pt")
    with open(f"{out}/not_torchscript.pt", "w") as f:
        f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    main(sys.argv[1])
