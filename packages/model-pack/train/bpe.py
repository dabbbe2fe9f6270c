"""A byte-level BPE tokenizer (GPT-2's scheme), trained on a corpus: small, deterministic, standard library only.

Text is split into pre-tokens with GPT-2's regex, each pre-token's UTF-8 bytes are written as GPT-2's printable
byte characters, and the most frequent adjacent pair is merged, again and again, until the vocabulary is full.
Ties go to the lexicographically smallest pair, so the same corpus always gives the same merges. The result is
saved as GPT-2's `vocab.json` + `merges.txt`; model-pack writes the Hugging Face `tokenizer.json` from them
(ByteLevel pre-tokenizer and decoder), which our tokenizer service and transformers.js load.
"""

import heapq
import re
from collections import Counter

END_OF_TEXT = "<|endoftext|>"

# GPT-2's pre-tokenizer regex with Python's `re` classes: [^\W\d_] is \p{L} and \d is \p{N} on ASCII text
# (the corpus is ASCII; elsewhere only the merges learned could differ, never how a tokenizer applies them).
PRE_TOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's table: every byte as a printable character (printable ASCII and Latin-1 map to themselves)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars = keep[:]
    shifted = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + shifted)
            shifted += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


BYTE_CHAR = bytes_to_unicode()


def pre_tokens(text):
    """The pre-tokens of `text`, each as byte characters."""
    return ["".join(BYTE_CHAR[b] for b in piece.encode("utf-8")) for piece in PRE_TOKEN.findall(text)]


def train(text, vocab_size):
    """Merges (pairs of symbols, in rank order) for a vocabulary of 256 bytes + merges + <|endoftext|>."""
    counts = Counter(pre_tokens(text))
    words = [list(word) for word in sorted(counts)]
    freq = [counts[word] for word in sorted(counts)]
    pair_count = Counter()
    where = {}
    for i, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_count[pair] += freq[i]
            where.setdefault(pair, set()).add(i)
    # A max-heap by count (smallest pair first on ties); entries go stale as counts change and are skipped.
    heap = [(-count, pair) for pair, count in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    # Two merges can spell the same token ("a bc", "ab c"): count tokens, not merges.
    tokens = set(BYTE_CHAR.values())
    while len(tokens) < vocab_size - 1 and heap:
        negative, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negative:
            continue
        if -negative < 2:
            break
        merges.append(pair)
        joined = pair[0] + pair[1]
        tokens.add(joined)
        touched = set()
        for i in sorted(where.pop(pair)):
            old = words[i]
            for p in zip(old, old[1:]):
                pair_count[p] -= freq[i]
                touched.add(p)
            new, k = [], 0
            while k < len(old):
                if k + 1 < len(old) and (old[k], old[k + 1]) == pair:
                    new.append(joined)
                    k += 2
                else:
                    new.append(old[k])
                    k += 1
            words[i] = new
            for p in zip(new, new[1:]):
                pair_count[p] += freq[i]
                where.setdefault(p, set()).add(i)
                touched.add(p)
        del pair_count[pair]
        for p in sorted(touched):
            if p != pair and pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], p))
    return merges


def vocabulary(merges):
    """Token → id: the 256 bytes (by byte value), then one token per merge, then <|endoftext|> last."""
    tokens = [BYTE_CHAR[b] for b in range(256)] + [a + b for a, b in merges] + [END_OF_TEXT]
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


class Encoder:
    """Applies merges by rank within each pre-token, as Hugging Face's BPE model does."""

    def __init__(self, merges):
        self.rank = {pair: i for i, pair in enumerate(merges)}
        self.vocab = vocabulary(merges)
        self.cache = {}

    def encode(self, text):
        ids = []
        for word in pre_tokens(text):
            if word not in self.cache:
                self.cache[word] = [self.vocab[s] for s in self._merge(list(word))]
            ids.extend(self.cache[word])
        return ids

    def _merge(self, symbols):
        unranked = len(self.rank)
        while len(symbols) > 1:
            pair = min(zip(symbols, symbols[1:]), key=lambda p: self.rank.get(p, unranked))
            if pair not in self.rank:
                break
            merged, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == pair:
                    merged.append(symbols[k] + symbols[k + 1])
                    k += 2
                else:
                    merged.append(symbols[k])
                    k += 1
            symbols = merged
        return symbols
