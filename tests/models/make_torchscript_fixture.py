#!/usr/bin/python3
"""Builds the TorchScript + SentencePiece fixture the torchscript tests load.

The way a user brings a Hugging Face causal LM, in miniature:
  1. a SentencePiece model trained here on ~8 kB of English (Debian's GPL-3 text), with the
     settings Llama 2's tokenizer uses (BPE, byte fallback, identity normalizer, whitespace kept);
  2. a small causal Transformer (learned positions, 2 layers) trained for a few hundred steps on
     that text's tokens, so its predictions are worth coding with;
  3. torch.jit.trace of `input ids (1, T) int64 -> logits (1, T, V)`, saved as model.pt.

Also writes expected.json: what the C++ side must reproduce exactly (token ids of a prompt, the
logits after it, greedy continuations, the parameter count); and two things it must refuse:
spm_lossy.model (NFKC, folded whitespace, no byte fallback: cannot code text losslessly) and
bad_shape.pt (returns one number per position instead of logits).

Usage: make_torchscript_fixture.py OUT_DIR
"""
import json
import os
import sys

import sentencepiece as spm
import torch

CONTEXT = 64  # positions the model was built for; the C++ side must slide past this
VOCAB = 384
TEXT_SOURCE = "/usr/share/common-licenses/GPL-3"
PROMPT = "The GNU General Public License is"


def train_tokenizer(out_dir, text):
    corpus = os.path.join(out_dir, "corpus.txt")
    with open(corpus, "w", encoding="ascii") as f:
        f.write(text)
    common = dict(input=corpus, model_type="bpe", character_coverage=1.0,
                  max_sentence_length=100000, num_threads=1, minloglevel=2)
    spm.SentencePieceTrainer.train(
        model_prefix=os.path.join(out_dir, "spm"), vocab_size=VOCAB, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, split_digits=True,
        **common)
    spm.SentencePieceTrainer.train(
        model_prefix=os.path.join(out_dir, "spm_lossy"), vocab_size=200, byte_fallback=False,
        normalization_rule_name="nmt_nfkc", remove_extra_whitespaces=True, **common)
    return spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "spm.model"))


class PositionSums(torch.nn.Module):
    """Not a language model: one number per position, the shape check must refuse it."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, ids):
        return ids.float() * self.scale


class Block(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(dim)
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)
        self.norm2 = torch.nn.LayerNorm(dim)
        self.ffn = torch.nn.Sequential(torch.nn.Linear(dim, 4 * dim), torch.nn.GELU(),
                                       torch.nn.Linear(4 * dim, dim))

    def forward(self, x):
        batch, length, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(dim, dim=2)
        shape = (batch, length, self.heads, dim // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(2, 3) / (dim // self.heads) ** 0.5
        causal = torch.ones(length, length, dtype=torch.bool).triu(1)
        attention = scores.masked_fill(causal, float("-inf")).softmax(-1)
        x = x + self.proj((attention @ v).transpose(1, 2).reshape(batch, length, dim))
        return x + self.ffn(self.norm2(x))


class TinyCausalLM(torch.nn.Module):
    def __init__(self, vocab, context, dim=48, heads=4, layers=2):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.positions = torch.nn.Parameter(torch.randn(context, dim) * 0.02)
        self.blocks = torch.nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        x = self.embed(ids) + self.positions[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def train_model(ids, bos):
    torch.manual_seed(0)
    model = TinyCausalLM(VOCAB, CONTEXT)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = torch.tensor(ids)
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        starts = torch.randint(0, len(ids) - CONTEXT, (16,), generator=generator)
        windows = torch.stack([data[s:s + CONTEXT - 1] for s in starts.tolist()])
        inputs = torch.cat([torch.full((16, 1), bos), windows], dim=1)
        targets = torch.cat([windows, data[starts + CONTEXT - 1].unsqueeze(1)], dim=1)
        loss = torch.nn.functional.cross_entropy(model(inputs).reshape(-1, VOCAB),
                                                 targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), float(loss)


def greedy(module, ids, steps):
    """Greedy tokens as the C++ side picks them: the argmax, lowest id on ties."""
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            logits = module(torch.tensor([ids[-CONTEXT:]]))[0, -1]
            token = int(logits.argmax())
            out.append(token)
            ids.append(token)
    return out


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    with open(TEXT_SOURCE, encoding="ascii") as f:
        text = f.read()[:8192]
    tokenizer = train_tokenizer(out_dir, text)
    bos = tokenizer.bos_id()
    model, loss = train_model(tokenizer.encode(text), bos)

    traced = torch.jit.trace(model, torch.tensor([[bos] + tokenizer.encode(PROMPT)]))
    traced.save(os.path.join(out_dir, "model.pt"))
    torch.jit.trace(PositionSums(), torch.tensor([[1, 2]])).save(os.path.join(out_dir, "bad_shape.pt"))
    module = torch.jit.load(os.path.join(out_dir, "model.pt"))

    prompt_ids = tokenizer.encode(PROMPT)
    with torch.no_grad():
        logits = module(torch.tensor([[bos] + prompt_ids]))[0, -1]
        # The traced graph must follow the input length, not the length it was traced at.
        other = module(torch.tensor([[bos] + prompt_ids[:3]]))[0, -1]
        direct = model(torch.tensor([[bos] + prompt_ids[:3]]))[0, -1]
    assert torch.allclose(other, direct, atol=1e-5), "the trace baked in the example's length"

    continuation = greedy(module, [bos] + prompt_ids, 20)
    expected = {
        "context": CONTEXT,
        "vocab_size": VOCAB,
        "bos": bos,
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_training_loss": loss,
        "prompt": PROMPT,
        "prompt_ids": prompt_ids,
        "logits_after_prompt": [float(v) for v in logits],
        "greedy_ids": continuation,
        "greedy_text": tokenizer.decode(prompt_ids + continuation),
        "tokenizer_samples": {s: tokenizer.encode(s) for s in [
            "Hello, world!", "  two  spaces\tand a tab\n", "~`{|}^ <0x41> 1234567890", ""]},
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
