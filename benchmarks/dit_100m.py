"""A DiT-style transformer of about 100M parameters, saved as TorchScript for bench's size table: what memory
and time a model of real size needs in each method, with full or LoRA experts.

Latents [4, 16, 16] in 2x2 patches (64 tokens), width 768, 9 blocks of adaLN-modulated attention (12 heads) and
MLP (4x), forward(x, t) with t the noise level times 1000, predicting the velocity. With --lora R every qkv,
proj, fc1 and fc2 layer is wrapped in the ten-line LoRA wrapper of docs/prepare-pytorch.md (B zero, alpha 8), to
import with --adapters lora_. Weights are PyTorch's default initialisation: the table measures cost, not quality.

usage: dit_100m.py OUT.pt [--lora RANK]
"""
import argparse
import math

import torch

WIDTH, DEPTH, HEADS, CHANNELS, SIZE, PATCH = 768, 9, 12, 4, 16, 2


class LoRA(torch.nn.Module):
    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Linear(base.in_features, rank, bias=False)
        self.lora_B = torch.nn.Linear(rank, base.out_features, bias=False)
        torch.nn.init.zeros_(self.lora_B.weight)
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scale


def linear(n_in: int, n_out: int, lora: int) -> torch.nn.Module:
    layer = torch.nn.Linear(n_in, n_out)
    return LoRA(layer, lora, 8.0) if lora > 0 else layer


class Block(torch.nn.Module):
    def __init__(self, lora: int):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(WIDTH, elementwise_affine=False)
        self.qkv = linear(WIDTH, 3 * WIDTH, lora)
        self.proj = linear(WIDTH, WIDTH, lora)
        self.norm2 = torch.nn.LayerNorm(WIDTH, elementwise_affine=False)
        self.fc1 = linear(WIDTH, 4 * WIDTH, lora)
        self.fc2 = linear(4 * WIDTH, WIDTH, lora)
        self.modulation = torch.nn.Linear(WIDTH, 6 * WIDTH)
        self.heads = HEADS

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b, n, w = h.shape
        heads = self.heads
        m = self.modulation(torch.nn.functional.silu(c)).unsqueeze(1).chunk(6, dim=-1)
        a = self.norm1(h) * (1 + m[1]) + m[0]
        q, k, v = self.qkv(a).reshape(b, n, 3, heads, w // heads).permute(2, 0, 3, 1, 4).unbind(0)
        attention = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(w // heads), dim=-1)
        h = h + m[2] * self.proj((attention @ v).transpose(1, 2).reshape(b, n, w))
        f = self.norm2(h) * (1 + m[4]) + m[3]
        return h + m[5] * self.fc2(torch.nn.functional.gelu(self.fc1(f)))


class Dit(torch.nn.Module):
    def __init__(self, lora: int):
        super().__init__()
        tokens = (SIZE // PATCH) ** 2
        self.patch_embed = torch.nn.Linear(CHANNELS * PATCH * PATCH, WIDTH)
        self.pos_embed = torch.nn.Parameter(torch.randn(1, tokens, WIDTH) * 0.02)
        self.time_in = torch.nn.Linear(256, WIDTH)
        self.time_out = torch.nn.Linear(WIDTH, WIDTH)
        self.blocks = torch.nn.ModuleList([Block(lora) for _ in range(DEPTH)])
        self.final_norm = torch.nn.LayerNorm(WIDTH, elementwise_affine=False)
        self.final_out = torch.nn.Linear(WIDTH, CHANNELS * PATCH * PATCH)
        self.register_buffer("freqs", torch.exp(torch.arange(128, dtype=torch.float32) * (-math.log(10000.0) / 127)))
        self.channels, self.size, self.patch = CHANNELS, SIZE, PATCH

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        CHANNELS, SIZE, PATCH = self.channels, self.size, self.patch
        g = SIZE // PATCH
        patches = x.reshape(b, CHANNELS, g, PATCH, g, PATCH).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, CHANNELS * PATCH * PATCH)
        h = self.patch_embed(patches) + self.pos_embed
        args = t.unsqueeze(-1) * self.freqs.unsqueeze(0)
        c = self.time_out(torch.nn.functional.silu(self.time_in(torch.cat([args.sin(), args.cos()], dim=-1))))
        for block in self.blocks:
            h = block(h, c)
        out = self.final_out(self.final_norm(h))
        return out.reshape(b, g, g, CHANNELS, PATCH, PATCH).permute(0, 3, 1, 4, 2, 5).reshape(b, CHANNELS, SIZE, SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--lora", type=int, default=0, help="LoRA rank on qkv, proj, fc1, fc2 (0: none)")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Dit(args.lora).eval()
    torch.jit.script(model).save(args.out)
    total = sum(p.numel() for p in model.parameters())
    adapters = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    print(f"{args.out}: {total} parameters ({adapters} in adapters)")


if __name__ == "__main__":
    main()
