"""Applies an exported expert's PEFT adapters to the teacher in plain PyTorch (no peft) and compares the result with
the exported expert on the same inputs. Prints one line per expert, "expert K: max |diff| D (teacher alone: T)", and
exits 1 if any D > 1e-5, or if the teacher alone is as close (T <= 100 D, or T <= 1e-6: the adapters would not matter).

The teacher is the base: a TorchScript teacher's script, or an MLP teacher's weights (model.safetensors). Two ways are
checked: W + (lora_alpha / r) B A merged into the base layer's weight, and (TorchScript) the adapter tensors loaded into
the script's own adapter parameters by their PEFT keys.

usage: apply_peft.py EXPORT_DIR TEACHER_DIR
"""
import importlib.util
import json
import os
import sys

import torch

PREFIX = "base_model.model."


def main(export_dir: str, teacher_dir: str) -> None:
    spec = importlib.util.spec_from_file_location("sample_student", os.path.join(export_dir, "sample_student.py"))
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    with open(os.path.join(export_dir, "student.json")) as f:
        student = json.load(f)
    kind = student["network"]["kind"]
    torch.manual_seed(0)
    dim = student["sample_shape"][0]
    x = torch.randn(64, dim)
    t = torch.rand(64) * student["time_scale"]
    ok = True
    for k, (expert_file, folder) in enumerate(zip(student["experts"], student["adapters"]), start=1):
        with open(os.path.join(export_dir, folder, "adapter_config.json")) as f:
            config = json.load(f)
        adapters = sampler.read_safetensors(os.path.join(export_dir, folder, "adapter_model.safetensors"))
        scale = config["lora_alpha"] / config["r"]
        modules = sorted({key[len(PREFIX):key.index(".lora_A")] for key in adapters if ".lora_A" in key})
        assert modules == sorted(config["target_modules"]), (modules, config["target_modules"])
        with torch.no_grad():
            if kind == "torchscript":
                exported = torch.jit.load(os.path.join(export_dir, expert_file)).eval()
                want = exported(x, t)
                # 1. The adapters loaded into the base script's own adapter parameters.
                loaded = torch.jit.load(os.path.join(teacher_dir, "model.pt")).eval()
                params = dict(loaded.named_parameters())
                for key, value in adapters.items():
                    params[key[len(PREFIX):]].copy_(value)
                got = [loaded(x, t)]
                # 2. W + (alpha / r) B A in the base layer, the adapter left at zero.
                merged = torch.jit.load(os.path.join(teacher_dir, "model.pt")).eval()
                params = dict(merged.named_parameters())
                for m in modules:
                    delta = adapters[f"{PREFIX}{m}.lora_B.weight"] @ adapters[f"{PREFIX}{m}.lora_A.weight"]
                    params[f"{m}.base.weight"].add_(scale * delta)
                got.append(merged(x, t))
                alone = torch.jit.load(os.path.join(teacher_dir, "model.pt")).eval()(x, t)
            else:
                exported = sampler.load_expert(student, expert_file, "cpu")
                want = exported(x, t / student["time_scale"])
                base = sampler.read_safetensors(os.path.join(teacher_dir, "model.safetensors"))
                teacher = sampler.Mlp(student["network"])
                teacher.load_state_dict(base, strict=True)
                alone = teacher.eval()(x, t / student["time_scale"])
                for m in modules:
                    base[f"{m}.weight"] = base[f"{m}.weight"] + scale * (adapters[f"{PREFIX}{m}.lora_B.weight"] @ adapters[f"{PREFIX}{m}.lora_A.weight"])
                net = sampler.Mlp(student["network"])
                net.load_state_dict(base, strict=True)
                got = [net.eval()(x, t / student["time_scale"])]
        diff = max(float((g - want).abs().max()) for g in got)
        apart = float((alone - want).abs().max())
        print(f"expert {k}: max |diff| {diff:.3g} (teacher alone: {apart:.3g})")
        ok = ok and diff <= 1e-5 and apart > max(100 * diff, 1e-6)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
