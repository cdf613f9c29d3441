"""PyTorch side of bench/cpu-step.ts: the same DiT block (bench/dit-block.ts), timed on request.

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"setup": {"B":..,"T":..,"D":..,"H":..}}            -> {"params": n}
  {"time": "train"|"forward", "dtype": "fp32"|"bf16", "reps": n} -> {"ms": [...], "loss": x}
  {"memory": true}                                     -> {"max_rss_kb": n}
Threads = cores (torch.set_num_threads), as the onnxruntime side.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

from peak_rss import peak_rss_kb

torch.set_num_threads(os.cpu_count() or 2)


class DitBlock(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ada = torch.nn.Linear(dim, 6 * dim)
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)
        self.fc1 = torch.nn.Linear(dim, 4 * dim)
        self.fc2 = torch.nn.Linear(4 * dim, dim)

    def forward(self, x, c):
        B, T, D = x.shape
        H = self.heads
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(c)).chunk(6, dim=-1)
        h = F.layer_norm(x, (D,), eps=1e-6) * (1 + scale1[:, None]) + shift1[:, None]
        q, k, v = self.qkv(h).reshape(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        s = (q @ k.transpose(-1, -2)) * (D // H) ** -0.5
        o = (s.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(B, T, D)
        x = x + gate1[:, None] * self.proj(o)
        h = F.layer_norm(x, (D,), eps=1e-6) * (1 + scale2[:, None]) + shift2[:, None]
        return x + gate2[:, None] * self.fc2(F.gelu(self.fc1(h), approximate="tanh"))


state = {}


def step(mode, dtype):
    m, opt, x, c, target = state["model"], state["opt"], state["x"], state["c"], state["target"]
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bf16" else torch.autocast("cpu", enabled=False)
    if mode == "forward":
        with torch.no_grad(), ctx:
            return m(x, c).float().mean().item()
    with ctx:
        loss = F.mse_loss(m(x, c).float(), target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


for line in sys.stdin:
    cmd = json.loads(line)
    if "setup" in cmd:
        s = cmd["setup"]
        torch.manual_seed(0)
        model = DitBlock(s["D"], s["H"])
        state.update(
            model=model,
            opt=torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0),
            x=torch.randn(s["B"], s["T"], s["D"]),
            c=torch.randn(s["B"], s["D"]),
            target=torch.randn(s["B"], s["T"], s["D"]),
        )
        out = {"params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__}
    elif "time" in cmd:
        ms = []
        loss = None
        for _ in range(cmd["reps"]):
            t0 = time.perf_counter()
            loss = step(cmd["time"], cmd["dtype"])
            ms.append((time.perf_counter() - t0) * 1000)
        out = {"ms": ms, "loss": loss}
    elif "memory" in cmd:
        out = {"max_rss_kb": peak_rss_kb()}
    else:
        out = {"error": f"unknown command {cmd}"}
    print(json.dumps(out), flush=True)
