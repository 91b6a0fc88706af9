#!/usr/bin/env python3
"""Loads a `./tandem export --hf` directory with Hugging Face transformers and checks it against
Tandem itself: the same greedy continuation of a prompt, token for token. Needs torch and transformers (not needed to build or test Tandem; see docs/CHECKPOINTS.md).

usage: tools/hf_check.py EXPORT_DIR [--prompt TEXT] [--tokens N]
"""
import argparse
import subprocess
import sys

import torch
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export_dir")
    ap.add_argument("--prompt", default="ROMEO:")
    ap.add_argument("--tokens", type=int, default=40)
    a = ap.parse_args()

    model = GPT2LMHeadModel.from_pretrained(a.export_dir, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=f"{a.export_dir}/tokenizer.json")
    cfg = model.config
    print(f"transformers loaded {a.export_dir}: GPT2LMHeadModel n_layer={cfg.n_layer} n_head={cfg.n_head} "
          f"n_embd={cfg.n_embd} vocab={cfg.vocab_size} n_positions={cfg.n_positions}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

    ids = tok(a.prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=a.tokens, do_sample=False, pad_token_id=0)
    hf_text = tok.decode(out[0])

    tandem = subprocess.run(["./tandem", "generate", "--checkpoint", a.export_dir, "--prompt", a.prompt,
                             "--max-tokens", str(a.tokens), "--temperature", "0"],
                            capture_output=True, text=True, check=True).stdout
    tandem = tandem[:-1] if tandem.endswith("\n") else tandem  # generate ends its output with one newline
    print("transformers:", repr(hf_text))
    print("tandem:      ", repr(tandem))
    if tandem != hf_text:
        print("MISMATCH: greedy continuations differ", file=sys.stderr)
        return 1
    print(f"OK: the same {a.tokens}-token greedy continuation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
