"""The shipped seed corpus holds to its contract: coverage, balance, variety, agreement."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from training.config import DatasetConfig, load_config
from training.corpus import list_documents, read_file
from training.dataset import build_dataset, load_built, read_agreement
from training.labels import LABELS
from training.segment import segment

SEEDS = Path("seeds")
CFG = load_config("configs/dataset.yaml", DatasetConfig)
SEED_ARTICLE = SEEDS / "000_be06ece57423d848.txt"
SEED_SHA256 = "95b4823cdae88e9d410f38fe28a6f3560dc720d4ba8a7aaf7d50bca573e58ae1"
STANCE_WORDS = re.compile(r"\b(normali[sz]\w*|ties|tie|relations?)\b", re.IGNORECASE)
QUOTED = re.compile(r"[\"“][^\"”\n]*[\"”]")
WORD = re.compile(r"[\w’']+")


def gold_rows() -> list[dict[str, str]]:
    rows = []
    for path in sorted(SEEDS.rglob(f"*{CFG.reader.gold_suffix}")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line) | {"file": path.name})
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, object]]:
    out = tmp_path_factory.mktemp("seed-dataset") / "ds"
    build_dataset(CFG, seeds=SEEDS, out=out)
    return load_built(out)


def test_seed_article_is_unchanged() -> None:
    shared = Path("../shared/seeds") / SEED_ARTICLE.name
    data = SEED_ARTICLE.read_bytes()
    if shared.exists():
        assert data == shared.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SEED_SHA256


def test_every_sentence_is_gold_and_every_annotation_matches(built: tuple[object, dict[str, object]]) -> None:
    dd, info = built
    sources = Counter(r for s in dd for r in dd[s]["label_source"])  # type: ignore[index]
    assert sources == Counter({"gold": sum(len(dd[s]) for s in dd)})  # type: ignore[index]
    # The builder raises on any annotation that matches no sentence; equal totals show none is left over.
    assert info["sentences_segmented"] == len(gold_rows())


def test_size_and_label_shares() -> None:
    docs = list_documents(SEEDS, CFG.reader)
    assert len(docs) >= 181
    rows = gold_rows()
    assert len(rows) >= 6000
    shares = Counter(r["label"] for r in rows)
    for label in LABELS:
        assert 0.25 <= shares[label] / len(rows) <= 0.40, (label, shares)


def test_hard_cases_and_stance_words_in_every_class() -> None:
    rows = gold_rows()
    polar = [r for r in rows if r["label"] != "neutral"]
    hard = [r for r in polar if str(r.get("note", "")).startswith("hard:")]
    assert len(hard) >= len(polar) / 3
    for r in hard:
        if r["note"].startswith("hard:event"):
            assert not STANCE_WORDS.search(r["text"]), r
    for word in ("normaliz", "ties"):
        classes = {r["label"] for r in rows if word in r["text"].lower() or word.replace("z", "s") in r["text"].lower()}
        assert classes == set(LABELS), (word, classes)


def test_metadata_covers_every_document_and_episodes_are_broad() -> None:
    docs = {p.relative_to(SEEDS).with_suffix("").as_posix() for p in list_documents(SEEDS, CFG.reader)}
    with open(SEEDS / CFG.reader.metadata_file, encoding="utf-8", newline="") as fh:
        meta = list(csv.DictReader(fh))
    assert {m["id"] for m in meta} == docs
    for m in meta:
        assert all(m[k].strip() for k in ("title", "episode", "countries", "date", "register", "origin")), m
        assert m["origin"] in ("seed", "written")
    registers = defaultdict(set)
    for m in meta:
        registers[m["episode"]].add(m["register"])
    assert len(registers) >= 45
    for episode, regs in registers.items():
        assert sum(m["episode"] == episode for m in meta) >= 2, episode
        assert len(regs) >= 2, (episode, regs)


def _grams(text: str) -> set[str]:
    words = WORD.findall(QUOTED.sub(" | ", text))
    grams = set()
    for i in range(len(words) - 7):
        window = words[i : i + 8]
        # Runs made mostly of capitalised words are names and titles, which documents share.
        if sum(w[:1].isupper() for w in window) >= 4 or "|" in window:
            continue
        grams.add(" ".join(w.lower() for w in window))
    return grams


def test_no_eight_word_run_is_shared_by_two_documents() -> None:
    seen: dict[str, str] = {}
    repeats = []
    for path in list_documents(SEEDS, CFG.reader):
        for gram in _grams(path.read_text(encoding="utf-8")):
            if gram in seen and seen[gram] != path.name:
                repeats.append((gram, seen[gram], path.name))
            seen.setdefault(gram, path.name)
    assert repeats == []


def test_second_labelling_pass_agrees() -> None:
    agreement = read_agreement(SEEDS / CFG.reader.agreement_file)
    assert agreement is not None
    assert agreement["sentences"] >= 400 and agreement["documents"] >= 40
    assert agreement["kappa"] >= 0.80
    gold = {(r["file"].removesuffix(CFG.reader.gold_suffix), r["text"]) for r in gold_rows()}
    for line in (SEEDS / CFG.reader.agreement_file).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert (row["doc_id"], row["text"]) in gold


# Author notes as sentences: one that shares a line with the text escapes the line patterns.
AUTHOR_NOTE = re.compile(
    r"^(?:The (?:writer|author)s? (?:is|are|was|teaches|taught|writes|directs|served|covers)\b"
    r"|[—–] ?[A-Z]\w+ [A-Z]\w+, (?:a|an) "
    r"|This (?:article|essay) (?:first|originally) "
    r"|(?:The |Her |His )?(?:[Cc]onversation|[Ii]nterview|[Aa]nswers)(?: below)? (?:has|have) been "
    r"|The views expressed |(?:For )?[Mm]edia (?:enquiries|inquiries))"
)


def _kept(text: str) -> list[str]:
    return [s.text for s in segment(text, CFG.cleaning, CFG.segmentation)]


@pytest.mark.parametrize(
    "note",
    [
        "The writer is a former diplomat who served in Amman and Beirut. He now teaches in Irbid.",
        "The authors are researchers at the institute. Research for this paper included interviews in Ankara.",
        "— Rania Khoury, a columnist based in Dubai",
        "This article first appeared in the Gulf Review.",
        "The conversation has been edited for length and clarity.",
        "The views expressed are the author's own.",
        "This paper forms part of our series on the Maghreb.",
        "Media enquiries should be directed to the press office.",
    ],
)
def test_author_notes_and_sign_offs_are_dropped(note: str) -> None:
    text = f"Envoys return to Damascus\n\nThe talks resumed on Monday.\n\n{note}\n"
    assert _kept(text) == ["Envoys return to Damascus", "The talks resumed on Monday."]


def test_sentences_that_only_resemble_author_notes_are_kept() -> None:
    text = (
        "The writer Orhan Pamuk said the border should reopen.\n\n"
        "The authorities closed the crossing, and the author of the plan resigned.\n\n"
        "This paper trail shows the talks began in 2019.\n"
    )
    assert len(_kept(text)) == 3


def test_no_author_note_is_left_in_the_seed_sentences() -> None:
    left = []
    for path in list_documents(SEEDS, CFG.reader):
        for doc in read_file(path, SEEDS, CFG.reader):
            left += [
                (path.name, s.text)
                for s in segment(doc.text, CFG.cleaning, CFG.segmentation, doc.markdown)
                if AUTHOR_NOTE.search(s.text)
            ]
    assert left == []


# A dateline with an outlet tag, as the cleaner strips it: "CAIRO, Nov 12 (Nile Ledger) - ".
DATELINE_TAG = re.compile(
    r"^[ \t]*(?:[#>*+-]+[ \t]+)?[A-Z][A-Z.'’ -]{1,39}[A-Z.](?:, [A-Z][a-z]{2,8}\.? \d{1,2})? \(([^)\n]{1,30})\) ?[-–—]{1,2} ",
    re.MULTILINE,
)


def test_no_two_documents_share_a_template() -> None:
    """Documents filled in from one template give themselves away at their edges.

    No two documents may share the six words they open with or the six words they close with
    (lower-cased words of the sentences the builder keeps, so page furniture does not count),
    nor the outlet tag of a dateline such as "(Wire)".
    """
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for path in list_documents(SEEDS, CFG.reader):
        for doc in read_file(path, SEEDS, CFG.reader):
            words = [
                w.lower()
                for s in segment(doc.text, CFG.cleaning, CFG.segmentation, doc.markdown)
                for w in WORD.findall(s.text)
            ]
            keys = {("dateline tag", " ".join(tag.lower().split())) for tag in DATELINE_TAG.findall(doc.text)}
            if words:
                keys |= {("opening", " ".join(words[:6])), ("closing", " ".join(words[-6:]))}
            for key in sorted(keys):
                first = seen.setdefault(key, doc.doc_id)
                if first != doc.doc_id:
                    clashes.append((*key, first, doc.doc_id))
    assert clashes == []


def test_the_corpus_v2_documents_were_labelled_twice_with_kappa_above_0_8() -> None:
    from sklearn.metrics import cohen_kappa_score

    rows = [
        json.loads(line)
        for line in (SEEDS / "agreement.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    v2 = [r for r in rows if r["doc_id"][:3].isdigit() and int(r["doc_id"][:3]) >= 100]
    assert len(v2) >= 600
    assert cohen_kappa_score([r["first"] for r in v2], [r["second"] for r in v2]) >= 0.8
    gold = {}
    for path in SEEDS.glob(f"*{CFG.reader.gold_suffix}"):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        gold[path.name.removesuffix(CFG.reader.gold_suffix)] = lines
    for r in v2:  # every adjudicated label is the gold label of that very sentence
        line = gold[r["doc_id"]][r["index"]]
        assert (line["text"], line["label"]) == (r["text"], r["adjudicated"]), r


def test_corpus_v2_adds_twenty_episodes_and_documents_of_every_length() -> None:
    with open(SEEDS / CFG.reader.metadata_file, encoding="utf-8", newline="") as fh:
        meta = list(csv.DictReader(fh))
    first = {m["episode"] for m in meta if int(m["id"][:3]) < 100}
    v2 = [m for m in meta if int(m["id"][:3]) >= 100]
    assert len(v2) >= 90 and len({m["episode"] for m in v2} - first) >= 20
    sizes = [len(gold_rows_of(m["id"])) for m in v2]
    assert min(sizes) <= 8 and max(sizes) >= 70


def gold_rows_of(doc_id: str) -> list[str]:
    path = SEEDS / f"{doc_id}{CFG.reader.gold_suffix}"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
