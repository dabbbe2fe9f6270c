"""Trains the `demo` model pair (a GPT-2-architecture target and its draft) on the King James Bible, CPU only.

    /usr/bin/python3 packages/model-pack/train/train.py [--out packages/model-pack/weights/demo] [--steps N]
    /usr/bin/python3 packages/model-pack/train/train.py --draft-only    # only the draft, from the committed target
    /usr/bin/python3 packages/model-pack/train/train.py --logits TEXT   # the committed models' top-5 logits

Writes to --out: vocab.json + merges.txt (a byte-level BPE trained on the corpus, see bpe.py), words.txt (the
corpus's distinct words, lowercased: tests check that generated text is made of them), target.safetensors
and draft.safetensors (the draft distilled from the target; fp16, Hugging Face GPT-2 parameter names and Conv1D [in, out] layout), and metrics.json
(held-out loss/perplexity of both, the draft's greedy agreement with the target). Every random choice is seeded;
bitwise-equal weights also need the same torch build and thread count (summation order).
"""

import argparse
import json
import math
import os
import re
import struct
import subprocess
import time

import bpe

# Debian's torch and numpy, OpenBLAS (the reference BLAS torch falls back to is ~6x slower), and the corpus.
DEBIAN_PACKAGES = ["python3-torch", "python3-numpy", "libopenblas0-pthread", "bible-kjv", "bible-kjv-text"]
if any(subprocess.run(["dpkg", "-s", p], capture_output=True).returncode for p in DEBIAN_PACKAGES):
    subprocess.run(["apt-get", "install", "-y", *DEBIAN_PACKAGES], check=True)
# On a shared machine, OpenMP threads that spin while they wait starve everything else (this run included).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402 (after the packages above are in place)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VOCAB_SIZE = 4096
CONTEXT = 128  # training window = the models' position table (n_positions)
HELD_OUT_EVERY = 50  # every 50th chapter (2%) is held out
SEED = 20_261_203
TARGET = dict(n_layer=4, n_head=4, n_embd=256, steps=600, batch=8, lr=2.5e-3)
DRAFT = dict(n_layer=2, n_head=2, n_embd=128, steps=800, batch=8, lr=5e-3)
# Then the draft learns the target's next-token distributions (distillation): what speculative decoding needs is
# agreement with the target, and its soft labels carry more of that per token than the corpus's hard ones.
DISTILL = dict(steps=600, batch=8, lr=1e-3)


def corpus():
    """(train text, held-out text): one paragraph per chapter, its verses joined, chapters apart by a blank line."""
    lines = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], capture_output=True, text=True, check=True).stdout
    chapters = {}
    for line in lines.splitlines():
        reference, _, verse = line.partition(" ")
        if verse:
            chapters.setdefault(reference.rsplit(":", 1)[0], []).append(verse.strip())
    train, held_out = [], []
    for i, verses in enumerate(chapters.values()):
        (held_out if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 else train).append(" ".join(verses))
    return "\n\n".join(train) + "\n\n", "\n\n".join(held_out) + "\n\n"


def write_words(text, path):
    with open(path, "w") as f:
        f.write("".join(f"{word}\n" for word in sorted(set(re.findall(r"[a-z]+", text.lower())))))


class Block(torch.nn.Module):
    """GPT-2's pre-norm block, as packages/model-pack/src/gpt2-graph.ts builds it (tanh GELU, LayerNorm eps 1e-5)."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = torch.nn.LayerNorm(n_embd, eps=1e-5)
        self.c_attn = torch.nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = torch.nn.Linear(n_embd, n_embd)
        self.ln_2 = torch.nn.LayerNorm(n_embd, eps=1e-5)
        self.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
        self.mlp_proj = torch.nn.Linear(4 * n_embd, n_embd)

    def forward(self, x, causal_bias):
        batch, length, width = x.shape
        heads = lambda t: t.view(batch, length, self.n_head, width // self.n_head).transpose(1, 2)
        q, k, v = map(heads, self.c_attn(self.ln_1(x)).split(width, dim=2))
        scores = q @ k.transpose(-2, -1) / math.sqrt(width // self.n_head) + causal_bias[:length, :length]
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + self.c_proj(context)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(torch.nn.Module):
    def __init__(self, n_layer, n_head, n_embd):
        super().__init__()
        self.wte = torch.nn.Embedding(VOCAB_SIZE, n_embd)
        self.wpe = torch.nn.Embedding(CONTEXT, n_embd)
        self.h = torch.nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = torch.nn.LayerNorm(n_embd, eps=1e-5)
        self.register_buffer("causal_bias", torch.full((CONTEXT, CONTEXT), -1e9).triu(1), persistent=False)
        for name, p in self.named_parameters():  # GPT-2's init; residual projections scaled by depth
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if "proj" in name else 0.02
                torch.nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                torch.nn.init.zeros_(p)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x, self.causal_bias)
        return self.ln_f(x) @ self.wte.weight.t()  # the LM head is tied to the token embedding


def train_model(name, spec, train_ids, generator, model=None, teacher=None):
    """Trains `model` (a new one of spec's shape if None) on the corpus, or toward `teacher`'s distributions."""
    torch.manual_seed(SEED)
    model = model or Gpt2(spec["n_layer"], spec["n_head"], spec["n_embd"])
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=spec["lr"], betas=(0.9, 0.95))
    steps, warmup = spec["steps"], max(1, spec["steps"] // 20)
    started = time.time()
    for step in range(steps):
        # Linear warmup, then cosine decay to a tenth.
        ramp = (step + 1) / warmup if step < warmup else 0.55 + 0.45 * math.cos(math.pi * (step - warmup) / (steps - warmup))
        for group in optimizer.param_groups:
            group["lr"] = spec["lr"] * ramp
        starts = torch.randint(0, len(train_ids) - CONTEXT - 1, (spec["batch"],), generator=generator)
        window = torch.stack([train_ids[s : s + CONTEXT + 1] for s in starts.tolist()])
        logits = model(window[:, :-1]).reshape(-1, VOCAB_SIZE)
        if teacher is None:
            loss = F.cross_entropy(logits, window[:, 1:].reshape(-1))
        else:  # KL(teacher || model) per position
            with torch.no_grad():
                target = F.log_softmax(teacher(window[:, :-1]).reshape(-1, VOCAB_SIZE), -1)
            loss = F.kl_div(F.log_softmax(logits, -1), target, log_target=True, reduction="batchmean")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 20 == 0 or step == steps - 1:
            rate = (step + 1) * spec["batch"] * CONTEXT / (time.time() - started)
            print(f"{name} step {step + 1}/{steps} loss {loss.item():.3f} ({rate:.0f} tokens/s)", flush=True)
    return model.eval()


@torch.no_grad()
def evaluate(target, draft, held_out_ids):
    """Held-out mean loss of both (non-overlapping windows), and how often their greedy next tokens agree."""
    n = (len(held_out_ids) - 1) // CONTEXT
    inputs = held_out_ids[: n * CONTEXT].view(n, CONTEXT)
    labels = held_out_ids[1 : n * CONTEXT + 1].view(n, CONTEXT)
    losses, agree = {"target": 0.0, "draft": 0.0}, 0
    for rows in torch.split(torch.arange(n), 16):
        logits = {"target": target(inputs[rows]), "draft": draft(inputs[rows])}
        for name, out in logits.items():
            losses[name] += F.cross_entropy(out.reshape(-1, VOCAB_SIZE), labels[rows].reshape(-1), reduction="sum").item()
        agree += (logits["target"].argmax(-1) == logits["draft"].argmax(-1)).sum().item()
    tokens = n * CONTEXT
    result = {"held_out_tokens": tokens, "draft_greedy_agreement": round(agree / tokens, 4)}
    for name, total in losses.items():
        result[name] = {"loss": round(total / tokens, 4), "perplexity": round(math.exp(total / tokens), 2)}
    return result


# Our module's parameter names → Hugging Face GPT-2's (under "transformer."); linear weights are stored [in, out].
HF_NAMES = {"mlp_proj": "mlp.c_proj", "c_fc": "mlp.c_fc", "c_attn": "attn.c_attn", "c_proj": "attn.c_proj"}


def hf_name(name):
    parts = name.split(".")
    if parts[0] == "h":
        parts[2] = HF_NAMES.get(parts[2], parts[2])
    return "transformer." + ".".join(parts)


def is_conv1d(name, value):
    return value.dim() == 2 and name.startswith("h.")


def save_safetensors(model, path):
    """fp16 tensors under Hugging Face's GPT-2 names, sorted; the header padded to 8 bytes as the format asks."""
    tensors = {}
    for name, value in model.state_dict().items():
        value = value.t() if is_conv1d(name, value) else value
        tensors[hf_name(name)] = value.detach().to(torch.float16).contiguous().numpy()
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        blob = tensors[name].astype("<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def load_safetensors(model, path):
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    state = {}
    for name, value in model.state_dict().items():
        entry = header[hf_name(name)]
        start, end = entry["data_offsets"]
        stored = np.frombuffer(data[8 + length + start : 8 + length + end], "<f2").reshape(entry["shape"])
        tensor = torch.from_numpy(stored.astype(np.float32))
        state[name] = tensor.t() if is_conv1d(name, value) else tensor
    model.load_state_dict(state)
    return model.eval()


def read_merges(out):
    with open(os.path.join(out, "merges.txt")) as f:
        return [tuple(line.split()) for line in f.read().splitlines()[1:]]


@torch.no_grad()
def print_logits(out, text):
    """The committed models' top-5 next-token logits after `text`: packages/model-pack/test/demo.test.ts holds the
    ONNX graphs to them, an independent check of the file format, the names, the layout and the fp16 widening."""
    ids = torch.tensor([bpe.Encoder(read_merges(out)).encode(text)])
    result = {}
    for name, spec in (("target", TARGET), ("draft", DRAFT)):
        model = Gpt2(spec["n_layer"], spec["n_head"], spec["n_embd"])
        logits = load_safetensors(model, os.path.join(out, f"{name}.safetensors"))(ids)[0, -1]
        top = logits.topk(5)
        result[name] = [[i, round(v, 4)] for i, v in zip(top.indices.tolist(), top.values.tolist())]
    print(json.dumps({"text": text, "ids": ids[0].tolist(), **result}))


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "weights", "demo"))
    parser.add_argument("--steps", type=int, help="train each model this many steps instead (to time or check the script)")
    parser.add_argument("--draft-only", action="store_true", help="keep the committed target and tokenizer; retrain the draft")
    parser.add_argument("--logits", metavar="TEXT", help="print the committed models' top-5 next-token logits; no training")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.logits:
        return print_logits(args.out, args.logits)
    os.makedirs(args.out, exist_ok=True)

    train_text, held_out_text = corpus()
    if args.draft_only:
        merges = read_merges(args.out)
    else:
        write_words(train_text, os.path.join(args.out, "words.txt"))
        merges = bpe.train(train_text, VOCAB_SIZE)
        with open(os.path.join(args.out, "vocab.json"), "w") as f:
            f.write(json.dumps(bpe.vocabulary(merges), ensure_ascii=False, indent=2) + "\n")
        with open(os.path.join(args.out, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    encoder = bpe.Encoder(merges)
    train_ids = torch.tensor(encoder.encode(train_text))
    held_out_ids = torch.tensor(encoder.encode(held_out_text))
    print(f"corpus: {len(train_ids)} training tokens, {len(held_out_ids)} held out, vocabulary {VOCAB_SIZE}", flush=True)

    models = {}
    for name, spec in (("target", TARGET), ("draft", DRAFT)):
        path = os.path.join(args.out, f"{name}.safetensors")
        if name == "target" and args.draft_only:
            models[name] = load_safetensors(Gpt2(spec["n_layer"], spec["n_head"], spec["n_embd"]), path)
            continue
        steps = {"steps": args.steps} if args.steps else {}
        models[name] = train_model(name, {**spec, **steps}, train_ids, torch.Generator().manual_seed(SEED))
        if name == "draft":
            models[name] = train_model(
                "distilled draft", {**DISTILL, **steps}, train_ids, torch.Generator().manual_seed(SEED + 1),
                models[name].train(), models["target"]
            )
        save_safetensors(models[name], path)
    metrics = evaluate(models["target"], models["draft"], held_out_ids)
    metrics["recipe"] = {"seed": SEED, "context": CONTEXT, "vocab_size": VOCAB_SIZE, "target": TARGET, "draft": DRAFT, "distill": DISTILL}
    metrics["torch"] = torch.__version__
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        f.write(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
