"""PyTorch side of bench/model-step.ts: the bundled config's networks mirrored layer for layer
(src/models: the causal video autoencoder, the text encoder, the diffusion transformer), timed on
request. Same shapes, same ops (rotary positions, adaLN-Zero, cross-attention without key/value
bias, tanh GELU, plain softmax attention), AdamW + global-norm clipping as the Trainer does.

Module paths are our TS models' parameter names (text.block0.attn.qkv.weight,
encoder.block1_0.conv2.bias ...), so a model folder's safetensors load straight into the mirror
(bench/denoise-step.ts compares the two on the same weights); only torch's own LayerNorm and
Embedding keep their parameters as weight/bias where ours say gamma/beta and table (our_names).

Reads one JSON command per line on stdin, answers one JSON line on stdout:
  {"setup": {"config": {...}, "ae_batch": n, "dit_batch": n, "frames": f, "height": h, "width": w,
             "tasks": ["ae", "t2v", "sample"]}} -> {"ae_params": n, "t2v_params": n, "torch": version}
      builds and draws inputs for the listed tasks only (default all three): "ae" the autoencoder
      and its training step (times "ae"), "t2v" the text encoder + DiT and their training step
      ("dit"), "sample" all three networks for inference ("velocity", "decode"); a count is left
      out when its network was not built
  {"load": {"dir": "<model folder>"}} -> parameter counts (networks built from the files' configs)
  {"velocity_check": {"x": A, "t": [..2B], "ids": A, "guidance": g}} -> A, the guided velocity
      (A = {"shape": [...], "data": [flat]}; ids are the caption then the empty caption, as
      TextToVideo.sampleLatents batches them); keeps x and the caption features for "step"
  {"decode_check": {"z": A}} -> A, the decoded frames; keeps z for "decode"
  {"time": "ae"|"dit"|"velocity"|"step"|"decode", "dtype": "fp32"|"bf16", "reps": n} -> {"ms": [...]}
  {"memory": true} -> {"max_rss_kb": n}
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from peak_rss import peak_rss_kb

torch.set_num_threads(os.cpu_count() or 2)


def rope_tables(grid, sections, theta, dh):
    gt, gh, gw = grid
    n = gt * gh * gw
    cos = torch.zeros(n, dh)
    sin = torch.zeros(n, dh)
    for tok in range(n):
        pos = [tok // (gh * gw), (tok // gw) % gh, tok % gw]
        c = 0
        for axis in range(3):
            sec = sections[axis]
            for i in range(sec // 2):
                a = pos[axis] * theta ** (-2 * i / sec)
                cos[tok, c] = cos[tok, c + 1] = math.cos(a)
                sin[tok, c] = -math.sin(a)
                sin[tok, c + 1] = math.sin(a)
                c += 2
    return cos, sin


def default_sections(dh):
    pairs = dh // 2
    base = pairs // 3
    rest = pairs - 3 * base
    return [2 * base, 2 * (base + (1 if rest >= 1 else 0)), 2 * (base + (1 if rest >= 2 else 0))]


def rope(x, tables):
    cos, sin = tables
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
    return x * cos + swapped * sin


def named_list(parent, name, modules):
    """Registers `modules` under parent as name.format(i) (block0, block1 ... as our models name
    them, where a ModuleList would say blocks.0) and returns them as a list."""
    modules = list(modules)
    for i, m in enumerate(modules):
        parent.add_module(name.format(i), m)
    return modules


def attention(q, k, v):
    # Under bf16 autocast the three may arrive in different dtypes (matmuls do not cast here).
    k, v = k.to(q.dtype), v.to(q.dtype)
    s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    return s.softmax(-1).to(v.dtype) @ v


class SelfAttention(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x, tables):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        o = attention(rope(q, tables), rope(k, tables), v)
        return self.proj(o.permute(0, 2, 1, 3).reshape(b, t, d))


class Mlp(torch.nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.fc2 = torch.nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class TextBlock(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = torch.nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x, tables):
        x = x + self.attn(self.norm1(x.float()), tables)
        return x + self.mlp(self.norm2(x.float()))


class TextEncoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed = torch.nn.Embedding(c["vocab"], c["dim"])
        self.blocks = named_list(self, "block{}", (TextBlock(c["dim"], c["heads"]) for _ in range(c["layers"])))
        self.norm = torch.nn.LayerNorm(c["dim"])
        dh = c["dim"] // c["heads"]
        self.tables = rope_tables([c["maxTokens"], 1, 1], [dh, 0, 0], 10000, dh)

    def forward(self, ids):
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, self.tables)
        tokens = self.norm(x.float())
        return tokens, tokens[:, 0]


class CrossAttention(torch.nn.Module):
    def __init__(self, dim, heads, text_dim):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(dim, dim)
        self.kv = torch.nn.Linear(text_dim, 2 * dim, bias=False)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x, text):
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).permute(0, 2, 1, 3)
        k, v = self.kv(text).reshape(b, text.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        return self.proj(attention(q, k, v).permute(0, 2, 1, 3).reshape(b, n, d))


def modulate(x, shift, scale):
    return F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale[:, None]) + shift[:, None]


class DitBlock(torch.nn.Module):
    def __init__(self, dim, heads, text_dim, mlp_ratio):
        super().__init__()
        self.attn = SelfAttention(dim, heads)
        self.cross_norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttention(dim, heads, text_dim)
        self.mlp = Mlp(dim, round(dim * mlp_ratio))
        self.ada = torch.nn.Linear(dim, 6 * dim)

    def forward(self, x, c, text, tables):
        s1, sc1, g1, s2, sc2, g2 = self.ada(c).chunk(6, -1)
        y = x + g1[:, None] * self.attn(modulate(x, s1, sc1), tables)
        y = y + self.cross(self.cross_norm(y.float()), text)  # LayerNorm with weights wants f32 under 1.13's CPU autocast
        return y + g2[:, None] * self.mlp(modulate(y, s2, sc2))


class TimestepEmbedder(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.register_buffer("freqs", 1000 * torch.exp(-math.log(10000) * torch.arange(128) / 128)[None], persistent=False)
        self.fc1 = torch.nn.Linear(256, d)
        self.fc2 = torch.nn.Linear(d, d)

    def forward(self, t):
        args = t[:, None] * self.freqs
        return self.fc2(F.silu(self.fc1(torch.cat([args.cos(), args.sin()], 1))))


class FinalLayer(torch.nn.Module):
    def __init__(self, d, out):
        super().__init__()
        self.ada = torch.nn.Linear(d, 2 * d)
        self.out = torch.nn.Linear(d, out)

    def forward(self, h, c):
        shift, scale = self.ada(c).chunk(2, -1)
        return self.out(modulate(h, shift, scale))


class Dit(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        p = c["patch"][0] * c["patch"][1] * c["patch"][2]
        d = c["dim"]
        self.patch_embed = torch.nn.Linear((2 * c["latentChannels"] + 1) * p, d)
        self.time_embed = TimestepEmbedder(d)
        self.text_embed = torch.nn.Linear(c["textDim"], d)
        self.blocks = named_list(
            self, "block{}", (DitBlock(d, c["heads"], c["textDim"], c["mlpRatio"]) for _ in range(c["layers"]))
        )
        self.final = FinalLayer(d, p * c["latentChannels"])
        self.tables = {}

    def forward(self, x, t, tokens, pooled, mask, clean):
        b, ch, T, H, W = x.shape
        pt, ph, pw = self.c["patch"]
        grid = (T // pt, H // ph, W // pw)
        if grid not in self.tables:
            dh = self.c["dim"] // self.c["heads"]
            self.tables[grid] = rope_tables(grid, default_sections(dh), 10000, dh)
        inp = torch.cat([x, clean, mask], 1)
        gt, gh, gw = grid
        tok = inp.reshape(b, -1, gt, pt, gh, ph, gw, pw).permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b, gt * gh * gw, -1)
        h = self.patch_embed(tok)
        c = F.silu(self.time_embed(t) + self.text_embed(pooled))
        for blk in self.blocks:
            h = blk(h, c, tokens, self.tables[grid])
        out = self.final(h, c)
        return out.reshape(b, gt, gh, gw, ch, pt, ph, pw).permute(0, 4, 1, 5, 2, 6, 3, 7).reshape(b, ch, T, H, W)


class CausalConv(torch.nn.Conv3d):
    def __init__(self, cin, cout, k=3):
        super().__init__(cin, cout, k)

    def forward(self, x):
        k = self.kernel_size
        p = (k[1] - 1) // 2
        return F.conv3d(F.pad(x, (p, p, p, p, k[0] - 1, 0)), self.weight, self.bias)


class ChannelRMS(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.ones(1, c, 1, 1, 1))

    def forward(self, x):
        return x * torch.rsqrt(x.square().mean(1, keepdim=True) + 1e-6) * self.gamma


class ResBlock(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1, self.conv1, self.norm2, self.conv2 = ChannelRMS(c), CausalConv(c, c), ChannelRMS(c), CausalConv(c, c)

    def forward(self, x):
        return x + self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))


def to_depth(x, f):
    b, c, t, h, w = x.shape
    ft, fh, fw = f
    x = x.reshape(b * c, t // ft, ft, h // fh, fh, w // fw, fw).permute(0, 2, 4, 6, 1, 3, 5)
    return x.reshape(b, c * ft * fh * fw, t // ft, h // fh, w // fw)


def from_depth(x, f):
    b, cf, t, h, w = x.shape
    ft, fh, fw = f
    c = cf // (ft * fh * fw)
    x = x.reshape(b * c, ft, fh, fw, t, h, w).permute(0, 4, 1, 5, 2, 6, 3)
    return x.reshape(b, c, t * ft, h * fh, w * fw)


class Encoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        c0, c1, c2 = c["channels"]
        r, nb = c["temporalDown"], c["blocks"]
        self.r = r
        self.stem = CausalConv(12 * r, c0)
        self.levels = [named_list(self, f"block{i}_{{}}", (ResBlock(ch) for _ in range(nb))) for i, ch in enumerate((c0, c1, c2))]
        self.down0, self.down1 = CausalConv(4 * c0, c1, 1), CausalConv(4 * c1, c2, 1)
        self.norm_out, self.head = ChannelRMS(c2), CausalConv(c2, c["latentChannels"])

    def forward(self, x):
        h = self.stem(to_depth(F.pad(x, (0, 0, 0, 0, self.r - 1, 0)), (self.r, 2, 2)))
        for i, blocks in enumerate(self.levels):
            for blk in blocks:
                h = blk(h)
            if i < 2:
                h = (self.down0, self.down1)[i](to_depth(h, (1, 2, 2)))
        z = self.head(F.silu(self.norm_out(h)))
        return z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-6)


def phase_kernels(w, axis):
    """A 3-tap kernel on pixels repeated 2x, as two 2-tap kernels on the originals."""
    tap = lambda i: w.narrow(axis, i, 1)  # noqa: E731
    return torch.cat([tap(0), tap(1) + tap(2)], axis), torch.cat([tap(0) + tap(1), tap(2)], axis)


def upsampled_conv(conv, x):
    """conv(nearest 2x upsampling of x) on x itself, as CausalConv3d.forwardUpsampled: four phases."""
    kt = conv.kernel_size[0]
    b, _, t, h, w = x.shape
    phases = []
    for ph, rows in enumerate(phase_kernels(conv.weight, 3)):
        for pw, k in enumerate(phase_kernels(rows, 4)):
            phases.append(F.conv3d(F.pad(x, (1 - pw, pw, 1 - ph, ph, kt - 1, 0)), k, conv.bias))
    o = conv.out_channels
    y = torch.stack(phases, 0).reshape(2, 2, b, o, t, h, w).permute(2, 3, 4, 5, 0, 6, 1)
    return y.reshape(b, o, t, 2 * h, 2 * w)


class Decoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        c0, c1, c2 = c["channels"]
        r, nb = c["temporalDown"], c.get("decoderBlocks", c["blocks"])
        self.r = r
        self.stem = CausalConv(c["latentChannels"], c2)
        self.levels = [named_list(self, f"block{i}_{{}}", (ResBlock(ch) for _ in range(nb))) for i, ch in enumerate((c2, c1, c0))]
        self.up0, self.up1 = CausalConv(c2, c1), CausalConv(c1, c0)
        self.norm_out, self.head = ChannelRMS(c0), CausalConv(c0, 12 * r)

    def forward(self, z):
        h = self.stem(z)
        for i, blocks in enumerate(self.levels):
            for blk in blocks:
                h = blk(h)
            if i < 2:
                h = upsampled_conv((self.up0, self.up1)[i], h)
        out = from_depth(self.head(F.silu(self.norm_out(h))), (self.r, 2, 2))
        return out[:, :, self.r - 1 :]


class Autoencoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder, self.decoder = Encoder(c), Decoder(c)
        self.latent_scale = c["latentScale"]

    def encode(self, x):
        """Pixels → the diffusion latent (scaled), as VideoAutoencoder.encode."""
        return self.encoder(x) * self.latent_scale

    def decode(self, latent):
        """The diffusion latent → pixels, as VideoAutoencoder.decode."""
        return self.decoder(latent / self.latent_scale)

    def loss(self, x, noise, aug, edge):
        rec = self.decoder(self.encoder(x) + aug * noise)
        l1 = (rec - x).abs().mean()
        dx = lambda a, ax: a.narrow(ax, 1, a.shape[ax] - 1) - a.narrow(ax, 0, a.shape[ax] - 1)
        e = (dx(rec, 3) - dx(x, 3)).abs().mean() + (dx(rec, 4) - dx(x, 4)).abs().mean()
        return l1 + edge * e


class TextToVideo(torch.nn.Module):
    """The text encoder and the DiT under our TextToVideo's names (text.*, dit.*)."""

    def __init__(self, cfg):
        super().__init__()
        self.text, self.dit = TextEncoder(cfg["text"]), Dit(cfg["dit"])


# Weight files (src/models/weights.ts, src/io/safetensors.ts), read without the `safetensors`
# package, which Debian does not ship: an 8-byte little-endian header length, a JSON header
# (dtype, shape, data_offsets per tensor; the config in __metadata__), then the raw bytes; or,
# for sharded weights, `<file>.index.json` whose weight_map names each tensor's shard.
WEIGHTS_FORMAT = "zoetrope-weights-1"
DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}


def read_safetensors_file(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    if len(raw) < 8 or 8 + n > len(raw):
        raise ValueError(f"{path}: truncated or not safetensors")
    header = json.loads(raw[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    body = memoryview(raw)[8 + n :]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {e['dtype']} (F32 and F16 are read)")
        a, b = e["data_offsets"]
        values = np.frombuffer(body[a:b], dtype=DTYPES[e["dtype"]])
        if values.size != math.prod(e["shape"]):
            raise ValueError(f"{path}: tensor {name} has {values.size} values for shape {e['shape']}")
        tensors[name] = torch.from_numpy(values.astype(np.float32)).reshape(e["shape"])
    return metadata, tensors


def read_weights(path):
    """(metadata, config, {name: f32 tensor}) of a weight file or of the shards its index lists."""
    if os.path.exists(path):
        metadata, tensors = read_safetensors_file(path)
    else:
        with open(path + ".index.json") as f:
            weight_map = json.load(f)["weight_map"]
        metadata, tensors = None, {}
        for shard in dict.fromkeys(weight_map.values()):
            meta, part = read_safetensors_file(os.path.join(os.path.dirname(path), shard))
            if metadata is not None and meta != metadata:
                raise ValueError(f"{shard}: metadata differs from the other shards'")
            metadata = meta
            tensors.update(part)
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"{path}: tensors listed in the index are missing: {sorted(missing)[:5]}")
    if metadata.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{path}: not a Zoetrope weight file (format {metadata.get('format')})")
    return metadata, json.loads(metadata["config"]), tensors


def our_names(module):
    """Each PyTorch parameter of `module` under the name our TS model stores it under: the same
    module paths, except that torch's LayerNorm holds our gamma/beta as weight/bias and its
    Embedding our table as weight."""
    out = {}
    for path, m in module.named_modules():
        if isinstance(m, torch.nn.LayerNorm):
            rename = {"weight": "gamma", "bias": "beta"}
        elif isinstance(m, torch.nn.Embedding):
            rename = {"weight": "table"}
        else:
            rename = {}
        for leaf, p in m.named_parameters(recurse=False):
            out[f"{path}.{rename.get(leaf, leaf)}" if path else rename.get(leaf, leaf)] = p
    return out


def load_state(module, tensors, path):
    """Copies every stored tensor into its parameter; none may be missing, extra or misshapen."""
    params = our_names(module)
    extra = sorted(set(tensors) - set(params))
    missing = sorted(set(params) - set(tensors))
    if extra or missing:
        raise ValueError(f"{path}: names do not map onto the mirror: extra {extra[:5]}, missing {missing[:5]}")
    with torch.no_grad():
        for name, p in params.items():
            if tuple(tensors[name].shape) != tuple(p.shape):
                raise ValueError(f"{path}: {name} is {list(tensors[name].shape)} in the file, {list(p.shape)} here")
            p.copy_(tensors[name])


def load_model(folder):
    """Both networks of a model folder (as src/cli/model-files.ts loadModel), built from the
    configs stored in their files."""
    nets = {}
    for kind, file, build in (
        ("autoencoder", "autoencoder.safetensors", Autoencoder),
        ("text-to-video", "text-to-video.safetensors", TextToVideo),
    ):
        path = os.path.join(folder, file)
        metadata, config, tensors = read_weights(path)
        if metadata.get("kind") != kind:
            raise ValueError(f"{path}: holds {metadata.get('kind')} weights, expected {kind}")
        net = build(config).eval()
        load_state(net, tensors, path)
        nets[kind] = (net, config)
    return nets


def from_json(a, dtype=torch.float32):
    return torch.tensor(a["data"], dtype=dtype).reshape(a["shape"])


def to_json(t):
    return {"shape": list(t.shape), "data": t.float().flatten().tolist()}


def guided_velocity(dit, a):
    """TextToVideo.velocity with guidance: both halves in one batch, v = v_u + g·(v_c − v_u)."""
    b = a["x"].shape[0]
    v = dit(torch.cat([a["x"], a["x"]], 0), a["t"], a["tokens"], a["pooled"], a["mask"], a["clean"])
    return torch.lerp(v[b:], v[:b], a["guidance"])


S = {}


def ctx(dtype):
    return torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bf16" else torch.autocast("cpu", enabled=False)


def train_step(model, opt, loss_fn, dtype):
    with ctx(dtype):
        loss = loss_fn().float()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


def run(kind, dtype):
    if kind == "ae":
        ae, c = S["ae"], S["cfg"]["ae"]
        return train_step(ae, S["ae_opt"], lambda: ae.loss(S["clips"], S["ae_noise"], c["noiseAug"], c["edgeWeight"]), dtype)
    if kind == "dit":
        text, dit = S["text"], S["dit"]

        def loss():
            tokens, pooled = text(S["ids"])
            x0, noise, tg = S["x0"], S["noise"], S["t"][:, None, None, None, None]
            xt = x0 + tg * (noise - x0)
            pred = dit(xt, S["t"], tokens, pooled, S["mask"], S["clean"]).float()
            w = 1 - S["mask"]
            return ((pred - (noise - x0)).square() * w).mean() / w.mean()

        return train_step(S["t2v"], S["dit_opt"], loss, dtype)
    with torch.no_grad(), ctx(dtype):
        if kind == "step":
            return guided_velocity(S["dit"], S["step"]).float().mean().item()
        if kind == "velocity":
            tokens, pooled = S["text"](S["ids2"])
            return S["dit"](S["xs"], S["ts"], tokens, pooled, S["mask2"], S["clean2"]).float().mean().item()
        return S["ae"].decode(S["z1"]).float().mean().item()


def setup(s):
    """The networks, optimisers and inputs of the tasks s["tasks"] lists (default all)."""
    tasks = s.get("tasks", ["ae", "t2v", "sample"])
    if set(tasks) - {"ae", "t2v", "sample"}:
        raise ValueError(f"setup: unknown tasks {tasks} (ae, t2v, sample)")
    cfg = s["config"]
    torch.manual_seed(0)
    b, bd = s["ae_batch"], s["dit_batch"]
    f, h, w = s["frames"], s["height"], s["width"]
    latent = (cfg["ae"]["latentChannels"], 1 + (f - 1) // cfg["ae"]["temporalDown"], h // 8, w // 8)
    L, vocab = cfg["text"]["maxTokens"], cfg["text"]["vocab"]
    S.update(cfg=cfg)
    out = {"torch": torch.__version__}
    if "ae" in tasks or "sample" in tasks:
        S["ae"] = Autoencoder(cfg["ae"])
        out["ae_params"] = sum(p.numel() for p in S["ae"].parameters())
    if "t2v" in tasks or "sample" in tasks:
        t2v = TextToVideo(cfg)
        S.update(t2v=t2v, text=t2v.text, dit=t2v.dit)
        out["t2v_params"] = sum(p.numel() for p in t2v.parameters())
    if "ae" in tasks:
        S.update(
            ae_opt=torch.optim.AdamW(S["ae"].parameters(), lr=1e-3, weight_decay=0.01),
            clips=torch.rand(b, 3, f, h, w) * 2 - 1,
            ae_noise=torch.randn(b, *latent),
        )
    if "t2v" in tasks:
        S.update(
            dit_opt=torch.optim.AdamW(S["t2v"].parameters(), lr=1e-3, weight_decay=0.01),
            x0=torch.randn(bd, *latent), noise=torch.randn(bd, *latent),
            t=torch.rand(bd), ids=torch.randint(0, vocab, (bd, L)),
            mask=torch.zeros(bd, 1, *latent[1:]), clean=torch.zeros(bd, *latent),
        )
        S["mask"][:, :, 0] = 1
    if "sample" in tasks:
        S.update(
            xs=torch.randn(2, *latent), ts=torch.full((2,), 0.5),
            ids2=torch.randint(0, vocab, (2, L)),
            mask2=torch.zeros(2, 1, *latent[1:]), clean2=torch.zeros(2, *latent),
            z1=torch.randn(1, *latent),
        )
    return out


def handle(cmd):
    if "setup" in cmd:
        out = setup(cmd["setup"])
    elif "load" in cmd:
        nets = load_model(cmd["load"]["dir"])
        ae, ae_cfg = nets["autoencoder"]
        t2v, cfg = nets["text-to-video"]
        S.update(cfg={**cfg, "ae": ae_cfg}, ae=ae, text=t2v.text, dit=t2v.dit, t2v=t2v)
        out = {
            "ae_params": sum(p.numel() for p in ae.parameters()),
            "t2v_params": sum(p.numel() for p in t2v.parameters()),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    elif "velocity_check" in cmd:
        a = cmd["velocity_check"]
        x = from_json(a["x"])
        b, ch, T, H, W = x.shape
        with torch.no_grad():
            tokens, pooled = S["text"](from_json(a["ids"], torch.long))
        S["step"] = {
            "x": x,
            "t": torch.tensor(a["t"], dtype=torch.float32),
            "tokens": tokens,
            "pooled": pooled,
            "guidance": float(a["guidance"]),
            "mask": from_json(a["mask"]) if "mask" in a else torch.zeros(2 * b, 1, T, H, W),
            "clean": from_json(a["clean"]) if "clean" in a else torch.zeros(2 * b, ch, T, H, W),
        }
        with torch.no_grad():
            out = to_json(guided_velocity(S["dit"], S["step"]))
    elif "decode_check" in cmd:
        S["z1"] = from_json(cmd["decode_check"]["z"])
        with torch.no_grad():
            out = to_json(S["ae"].decode(S["z1"]))
    elif "time" in cmd:
        ms = []
        for _ in range(cmd["reps"]):
            t0 = time.perf_counter()
            run(cmd["time"], cmd["dtype"])
            ms.append((time.perf_counter() - t0) * 1000)
        out = {"ms": ms}
    elif "memory" in cmd:
        out = {"max_rss_kb": peak_rss_kb()}
    else:
        raise ValueError(f"unknown command {cmd}")
    return out


for line in sys.stdin:
    try:
        out = handle(json.loads(line))
    except Exception as err:  # the TS side prints it and stops
        out = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps(out), flush=True)
