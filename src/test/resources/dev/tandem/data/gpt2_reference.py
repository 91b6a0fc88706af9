"""Writes gpt2-reference-cases.jsonl: encodings of edge-case strings by GPT-2's own algorithm.

This is GPT-2's encoder.py (bytes_to_unicode, the `regex`-module pattern, the bpe() loop),
applied to data/tokenizer-shakespeare-2k.json. TokenizerGoldenTest checks that Tandem's
tokenizer gives the same pieces and ids. Regenerate (needs `pip install regex`) with:
    python3 src/test/resources/dev/tandem/data/gpt2_reference.py
"""
import json
import random

import regex

TOKENIZER = "data/tokenizer-shakespeare-2k.json"
OUT = "src/test/resources/dev/tandem/data/gpt2-reference-cases.jsonl"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


tok = json.load(open(TOKENIZER, encoding="utf-8"))
vocab = tok["model"]["vocab"]
merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tok["model"]["merges"]]
ranks = dict(zip(merges, range(len(merges))))
b2u = bytes_to_unicode()
pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bpe(token):
    word = tuple(token)
    pairs = set(zip(word, word[1:]))
    if not pairs:
        return [token]
    while True:
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new_word = []
        i = 0
        while i < len(word):
            try:
                j = word.index(first, i)
                new_word.extend(word[i:j])
                i = j
            except ValueError:
                new_word.extend(word[i:])
                break
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new_word.append(first + second)
                i += 2
            else:
                new_word.append(word[i])
                i += 1
        word = tuple(new_word)
        if len(word) == 1:
            break
        pairs = set(zip(word, word[1:]))
    return list(word)


def encode(text):
    ids = []
    for piece in regex.findall(pat, text):
        ids.extend(vocab[t] for t in bpe("".join(b2u[b] for b in piece.encode("utf-8"))))
    return ids


random.seed(1)
texts = [
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n",
    "I'm sure they'll say you've 'd it; DON'T 'S", "a   b", "   lead", "trail   ", "a\n\n\nb", "a \n b",
    "1999 or 3.14159, $42!", "x😀😀 y", "日本語 テキスト", "tab\tand\u00a0nbsp\u3000ideo", "\x1c\x1d\x1e\x1f\x85",
    "<|endoftext|>", "",
]
ranges = [(0x20, 0x7E)] * 6 + [(0, 0x1F), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF), (0x300, 0x36F), (0x80, 0x2FFF)]
spaces = [0x20, 0x0A, 0x09, 0x0D, 0xA0, 0x3000, 0x2028, 0x85, 0x0B, 0x1C, 0x1F, 0x180E, 0x200B, 0xFEFF]
for _ in range(300):
    s = []
    for _ in range(random.randint(0, 40)):
        if random.random() < 0.25:
            s.append(chr(random.choice(spaces)))
        else:
            lo, hi = random.choice(ranges)
            c = random.randint(lo, hi)
            s.append(chr(0x41 if 0xD800 <= c <= 0xDFFF else c))
    texts.append("".join(s))

with open(OUT, "w", encoding="utf-8", newline="\n") as f:
    for t in texts:
        f.write(json.dumps({"text": t, "pieces": regex.findall(pat, t), "ids": encode(t)}) + "\n")
