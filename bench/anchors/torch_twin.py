#!/usr/bin/python3
"""PyTorch twin of moontrain's Moonlight model: the outside oracle for loss and gradients.

Reads a moontrain checkpoint directory (config.json + model.safetensors, Hugging Face
DeepseekV3 names), a batch (JSON: {"ids": [...], "targets": [...], "shape": [B, S]}), runs the
forward and backward in float32 (or --float64) with its own implementation written from the
DeepSeek-V3 / Moonlight description, and writes the loss and every gradient to a safetensors
file (loss and aux loss in its metadata). Uses Debian's python3-torch (1.13) and numpy only.
    /usr/bin/python3 bench/anchors/torch_twin.py --model DIR --batch batch.json --out grads.safetensors
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": (np.float32, 4), "F64": (np.float64, 8), "BF16": (None, 2)}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            f.seek(base + b)
            raw = f.read(end - b)
            if e["dtype"] == "BF16":
                u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                arr = u.view(np.float32)
            else:
                arr = np.frombuffer(raw, dtype=DTYPES[e["dtype"]][0])
            out[name] = torch.from_numpy(arr.copy().reshape(e["shape"]))
    return out


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, theta, interleave):
    d = x.shape[-1]
    inv = theta ** (-torch.arange(0, d // 2, dtype=x.dtype) * 2 / d)
    ang = pos[:, None].to(x.dtype) * inv[None, :]  # [T, d/2]
    cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]
    if interleave:
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)
    a, b = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def swiglu(x, g, u, d):
    return F.linear(F.silu(F.linear(x, g)) * F.linear(x, u), d)


def attention(c, p, pre, x, pos, B, S):
    H, dn, dr, dv, r = c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]
    T = x.shape[0]
    if c.get("q_lora_rank") is None:
        q = F.linear(x, p[pre + "q_proj.weight"])
    else:
        qa = rms_norm(F.linear(x, p[pre + "q_a_proj.weight"]), p[pre + "q_a_layernorm.weight"], c["rms_norm_eps"])
        q = F.linear(qa, p[pre + "q_b_proj.weight"])
    q = q.view(T, H, dn + dr)
    q = torch.cat([q[..., :dn], rope(q[..., dn:], pos, c["rope_theta"], c["rope_interleave"])], -1)
    kva = F.linear(x, p[pre + "kv_a_proj_with_mqa.weight"])
    ckv = rms_norm(kva[:, :r], p[pre + "kv_a_layernorm.weight"], c["rms_norm_eps"])
    kpe = rope(kva[:, r:].view(T, 1, dr), pos, c["rope_theta"], c["rope_interleave"]).expand(T, H, dr)
    kv = F.linear(ckv, p[pre + "kv_b_proj.weight"]).view(T, H, dn + dv)
    k = torch.cat([kv[..., :dn], kpe], -1)
    v = kv[..., dn:]
    q, k, v = (t.view(B, S, H, -1).transpose(1, 2) for t in (q, k, v))
    s = (q @ k.transpose(-1, -2)) / math.sqrt(dn + dr)
    mask = torch.ones(S, S, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, float("-inf")).softmax(-1)
    o = (s @ v).transpose(1, 2).reshape(T, H * dv)
    return F.linear(o, p[pre + "o_proj.weight"])


def moe(c, p, pre, x, B, S):
    E, k = c["n_routed_experts"], c["num_experts_per_tok"]
    scores = torch.sigmoid(F.linear(x.float(), p[pre + "gate.weight"].float()))
    choice = scores.detach() + p[pre + "gate.e_score_correction_bias"]
    if c["n_group"] > 1:
        g = choice.view(-1, c["n_group"], E // c["n_group"])
        group_score = g.topk(2, dim=-1).values.sum(-1)
        keep = torch.zeros_like(group_score).scatter_(1, group_score.topk(c["topk_group"], dim=-1).indices, 1.0)
        choice = choice.masked_fill(~keep.repeat_interleave(E // c["n_group"], dim=1).bool(), float("-inf"))
    idx = choice.topk(k, dim=-1, sorted=True).indices
    w = scores.gather(1, idx)
    if c["norm_topk_prob"]:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    w = w * c["routed_scaling_factor"]
    y = torch.zeros_like(x)
    for e in range(E):
        rows, slot = (idx == e).nonzero(as_tuple=True)
        if rows.numel() == 0:
            continue
        pe = lambda n: p[f"{pre}experts.{e}.{n}_proj.weight"]
        y = y.index_add(0, rows, (swiglu(x[rows], pe("gate"), pe("up"), pe("down")) * w[rows, slot, None]).to(y.dtype))
    if c["n_shared_experts"] > 0:
        ps = lambda n: p[f"{pre}shared_experts.{n}_proj.weight"]
        y = y + swiglu(x, ps("gate"), ps("up"), ps("down"))
    aux = torch.zeros((), dtype=x.dtype)
    if c["seq_aux"] and c["aux_loss_alpha"] > 0:
        sn = (scores / scores.sum(-1, keepdim=True)).view(B, S, E)
        counts = torch.zeros(B, E, dtype=x.dtype).scatter_add_(1, idx.view(B, S * k), torch.ones(B, S * k, dtype=x.dtype))
        f = counts * E / (k * S)
        aux = c["aux_loss_alpha"] * (f * sn.mean(1)).sum(1).mean()
    return y, aux


def model_loss(c, p, ids, targets, B, S):
    T = B * S
    pos = torch.arange(T) % S
    x = p["model.embed_tokens.weight"][ids]
    aux_total = torch.zeros((), dtype=x.dtype)
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        h = rms_norm(x, p[pre + "input_layernorm.weight"], c["rms_norm_eps"])
        x = x + attention(c, p, pre + "self_attn.", h, pos, B, S)
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        if i < c["first_k_dense_replace"]:
            m = pre + "mlp."
            x = x + swiglu(h, p[m + "gate_proj.weight"], p[m + "up_proj.weight"], p[m + "down_proj.weight"])
        else:
            y, aux = moe(c, p, pre + "mlp.", h, B, S)
            x = x + y
            aux_total = aux_total + aux
    h = rms_norm(x, p["model.norm.weight"], c["rms_norm_eps"])
    head = p["model.embed_tokens.weight"] if c["tie_word_embeddings"] else p["lm_head.weight"]
    logits = F.linear(h, head)
    ce = F.cross_entropy(logits, targets, ignore_index=-100, reduction="mean")
    return ce, aux_total


def newton_schulz(g, steps=5, bf16=True):
    """Muon's quintic Newton-Schulz (NS5: (a, b, c) = (3.4445, -4.775, 2.0315), 5 steps) on the last two dimensions, in bf16 like Moonlight."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16() if bf16 else g
    wide = x.size(-2) <= x.size(-1)
    if not wide:
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        s = x @ x.mT
        x = a * x + (b * s + c * (s @ s)) @ x
    return x if wide else x.mT


def muon_step(params, lr=1e-3, weight_decay=0.1, momentum=0.95, bf16=True):
    """Moonlight's Muon (momentum 0.95, Nesterov, 0.2·sqrt(max(A, B)) update scale, decoupled weight
    decay) on the matrices and expert stacks, AdamW (0.9, 0.95), eps 1e-8 on the rest: the same
    split as moontrain's optim.Muon. Returns step()."""
    trainable = {n: t for n, t in params.items() if t.requires_grad}
    head = ("model.embed_tokens.weight", "lm_head.weight")
    matrices = {n: t for n, t in trainable.items() if t.dim() >= 2 and n not in head}
    adamw = torch.optim.AdamW([t for n, t in trainable.items() if n not in matrices], lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay)
    buffers = {n: torch.zeros_like(t) for n, t in matrices.items()}

    def step():
        with torch.no_grad():
            for n, t in matrices.items():
                buf = buffers[n].mul_(momentum).add_(t.grad)
                o = newton_schulz(t.grad.add(buf, alpha=momentum), bf16=bf16)
                t.mul_(1 - lr * weight_decay).add_(o.to(t.dtype), alpha=-lr * 0.2 * math.sqrt(max(t.shape[-2:])))
        adamw.step()

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, help="time this many forward+backward passes (median), print JSON")
    ap.add_argument("--autocast", action="store_true", help="bf16 autocast on the CPU (PyTorch's mixed precision)")
    ap.add_argument("--optimizer", action="store_true", help="with --bench: also time a Muon step (NS in bf16 with --autocast) after each backward")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the twin runs (cuda: every tensor made on the GPU)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        torch.set_default_device("cuda")
    else:
        torch.set_flush_denormal(True)  # as the bf16 instructions on our side; after optimizer steps denormals slowed it 1.7x
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    dt = torch.float64 if a.float64 else torch.float32
    c = json.load(open(f"{a.model}/config.json"))
    p = {n: t.to(a.device, dt).requires_grad_(not n.endswith("e_score_correction_bias")) for n, t in read_safetensors(f"{a.model}/model.safetensors").items()}
    b = json.load(open(a.batch))
    B, S = b["shape"]
    ids, targets = torch.tensor(b["ids"], device=a.device), torch.tensor(b["targets"], device=a.device)
    targets = torch.where(targets < 0, torch.full_like(targets, -100), targets)
    if a.bench:
        times, opt_times = [], []
        step = muon_step(p, bf16=a.autocast) if a.optimizer else None
        for _ in range(a.bench + 1):
            for t in p.values():
                t.grad = None
            sync()
            t1 = time.perf_counter()
            with torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.autocast):
                ce, aux = model_loss(c, p, ids, targets, B, S)
            (ce + aux).backward()
            sync()
            t2 = time.perf_counter()
            times.append(t2 - t1)
            if step:
                step()
                sync()
                opt_times.append(time.perf_counter() - t2)
        times, opt_times = times[1:], opt_times[1:]
        med = sorted(times)[len(times) // 2]
        print(json.dumps({"median_s": med, "tokens_per_s": B * S / med, "times_s": times, "optimizer_times_s": opt_times, "loss": ce.item(),
                          "threads": a.threads, "autocast": a.autocast, "device": a.device, "torch": torch.__version__}))
        return
    t0 = time.time()
    ce, aux = model_loss(c, p, ids, targets, B, S)
    (ce + aux).backward()
    grads = {n: t.grad for n, t in p.items() if t.grad is not None}
    write_safetensors(a.out, grads, {"loss": repr(ce.item()), "aux_loss": repr(aux.item()), "seconds": repr(time.time() - t0)})
    print(json.dumps({"loss": ce.item(), "aux_loss": aux.item(), "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()
