#!/usr/bin/env python3
"""transformers' side of the Hugging Face check (driven by bench/anchors/hf-check.ts).

usage: hf_check.py CHECKPOINT_DIR BATCH_JSON SAVE_DIR

Loads a moontrain checkpoint with AutoModelForCausalLM.from_pretrained in float32, computes the
logits of the batch (BATCH_JSON: {"ids": [[...], ...]}), writes them to SAVE_DIR/logits.f32 (raw
little-endian float32, [batch, seq, vocab]) and saves the model with save_pretrained into
SAVE_DIR/model, for moontrain to load back. Prints one JSON line: versions, shapes and the tensor
names save_pretrained wrote.
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM


def main() -> None:
    checkpoint, batch_file, save_dir = sys.argv[1:4]
    with open(batch_file) as f:
        ids = torch.tensor(json.load(f)["ids"], dtype=torch.long)
    torch.manual_seed(0)
    # transformers 5 names the argument dtype; 4 names it torch_dtype.
    dtype_arg = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    model = AutoModelForCausalLM.from_pretrained(checkpoint, **{dtype_arg: torch.float32})
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().contiguous()
    os.makedirs(save_dir, exist_ok=True)
    logits.numpy().astype("<f4").tofile(os.path.join(save_dir, "logits.f32"))
    model.save_pretrained(os.path.join(save_dir, "model"), safe_serialization=True)
    from safetensors import safe_open

    names = []
    for name in sorted(os.listdir(os.path.join(save_dir, "model"))):
        if name.endswith(".safetensors"):
            with safe_open(os.path.join(save_dir, "model", name), "pt") as f:
                names.extend(f.keys())
    print(json.dumps({
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "class": type(model).__name__,
        "logits_shape": list(logits.shape),
        "saved_tensors": len(names),
        "saved_expert_layout": "fused" if any(n.endswith("gate_up_proj") for n in names) else "per-expert",
    }))


if __name__ == "__main__":
    main()
