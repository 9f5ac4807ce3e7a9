"""Generated text for speed and memory runs: seed words recombined from a fixed seed.

The sentences are walks of a word-bigram chain learned from the ``.txt`` seed documents, so
they have the vocabulary, cue words, punctuation and length of the real corpus, but no meaning
and no labels. They exist to load the commands, never to score a model.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from pathlib import Path

SEED = 20240607
MIN_WORDS, MAX_WORDS = 8, 32
SENTENCES_PER_DOC = 30

# Tokens that would change how many sentences the segmenter sees (quotes that never close,
# inner periods of abbreviations) are left out: the point is a known sentence count.
_KEEP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9'’%$,;:()\-]*$")


class Chain:
    """A word-bigram chain: ``starts`` opens sentences, ``follow[w]`` lists words seen after ``w``."""

    def __init__(self, seeds_dir: str | Path) -> None:
        self.starts: list[str] = []
        self.follow: dict[str, list[str]] = {}
        for path in sorted(Path(seeds_dir).rglob("*.txt")):
            for sentence in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8", errors="replace")):
                words = [w.rstrip(".!?") for w in sentence.split()]
                words = [w for w in words if _KEEP.match(w)]
                if len(words) < 4:
                    continue
                self.starts.append(words[0])
                for a, b in itertools.pairwise(words):
                    self.follow.setdefault(a.lower(), []).append(b)
        if not self.starts:
            raise ValueError(f"no .txt documents with sentences under {seeds_dir}")
        self.vocab = sorted({w for ws in self.follow.values() for w in ws})

    def sentence(self, rng: random.Random) -> str:
        """One sentence of MIN_WORDS..MAX_WORDS words, capitalised, ending in a full stop."""
        length = rng.randint(MIN_WORDS, MAX_WORDS)
        word = rng.choice(self.starts)
        words = [word]
        while len(words) < length:
            nxt = self.follow.get(word.lower())
            word = rng.choice(nxt) if nxt else rng.choice(self.vocab)
            words.append(word)
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words).rstrip(",;:(-") + "."


def sentences(chain: Chain, count: int, seed: int = SEED) -> Iterator[str]:
    """``count`` generated sentences, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        yield chain.sentence(rng)


def write_seeds(chain: Chain, count: int, out: str | Path, seed: int = SEED) -> Path:
    """A seeds folder of ``.txt`` documents holding ``count`` generated sentences in paragraphs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    doc: list[str] = []
    n_doc = 0

    def flush() -> None:
        nonlocal n_doc
        paragraphs, i = [], 0
        while i < len(doc):
            step = rng.randint(2, 5)
            paragraphs.append(" ".join(doc[i : i + step]))
            i += step
        (out / f"gen_{n_doc:06d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        n_doc += 1
        doc.clear()

    for s in sentences(chain, count, seed):
        doc.append(s)
        if len(doc) == SENTENCES_PER_DOC:
            flush()
    if doc:
        flush()
    return out


def write_lines(chain: Chain, count: int, path: str | Path, seed: int = SEED) -> Path:
    """A text file of ``count`` generated sentences, one per line (input for ``stance predict``)."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        for s in sentences(chain, count, seed):
            fh.write(s + "\n")
    return path
