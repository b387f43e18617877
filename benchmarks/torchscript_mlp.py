"""The ring8 teacher's MLP written in PyTorch and saved as TorchScript, for bench's
imported-versus-native row: the same architecture as MlpVelocityModel (MlpSpec(2, 128, 4, 64)):
[x, sinusoidal(t)] -> Linear -> SiLU -> ... -> Linear, the embedding's frequencies geometric from
1 to 1000 on t * 1000. Weights are PyTorch's default initialisation (the row measures cost, not quality).

usage: torchscript_mlp.py OUT.pt
"""
import math
import sys
import torch


class Mlp(torch.nn.Module):
    def __init__(self, data_dim: int = 2, hidden: int = 128, layers: int = 4, time_dim: int = 64):
        super().__init__()
        sizes = [data_dim + time_dim] + [hidden] * (layers - 1) + [data_dim]
        self.layers = torch.nn.ModuleList([torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        half = time_dim // 2
        self.register_buffer("freqs", torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(1000.0) / max(half - 1, 1))))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        args = (t * 1000.0).unsqueeze(-1) * self.freqs.unsqueeze(0)
        h = torch.cat([x, torch.sin(args), torch.cos(args)], dim=-1)
        n = len(self.layers)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < n - 1:
                h = torch.nn.functional.silu(h)
        return h


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(Mlp()).save(sys.argv[1])
