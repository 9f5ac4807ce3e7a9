from pathlib import Path

import pytest
from training.config import DatasetConfig
from training.segment import content_blocks, segment

CFG = DatasetConfig()
SEED = Path("seeds/000_be06ece57423d848.txt")


def cut(text: str) -> list[str]:
    return [s.text for s in segment(text, CFG.cleaning, CFG.segmentation)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. and the U.N. met. Gen. Smith said no.", ["The U.S. and the U.N. met.", "Gen. Smith said no."]),
        (
            "Dr. Jones cited No. 5 on Jan. 5 at 3.5 percent. It passed.",
            ["Dr. Jones cited No. 5 on Jan. 5 at 3.5 percent.", "It passed."],
        ),
        ("He met John F. Kennedy there. They left.", ["He met John F. Kennedy there.", "They left."]),
        ('"We will not go," he said. "Never!" The end?', ['"We will not go," he said.', '"Never!"', "The end?"]),
        ("They talked (briefly). Then they left.", ["They talked (briefly).", "Then they left."]),
        ("Talks stalled in the U.S. The next round is set.", ["Talks stalled in the U.S.", "The next round is set."]),
        ("Is it over? he asked. No.", ["Is it over? he asked.", "No."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert cut(text) == expected


def test_seed_article_yields_its_13_sentences_with_title_once() -> None:
    text = SEED.read_text(encoding="utf-8")
    spans = segment(text, CFG.cleaning, CFG.segmentation)
    assert len(spans) == 13
    assert spans[0].text == "US Says It Will Not Normalize Relations with Syria"
    assert sum(s.text == spans[0].text for s in spans) == 1
    joined = " ".join(s.text for s in spans)
    for furniture in ("News code", "endNewsMessage", "Comments"):
        assert furniture not in joined
    # Offsets point at the original characters: curly apostrophes are kept as they are.
    for s in spans:
        assert " ".join(text[s.start : s.end].split()) == s.text
    assert "Washington’s" in spans[1].text


def test_furniture_rules_and_dateline() -> None:
    text = (
        "Talks resume\nBy Jane Roe\nPublished: 3 May 2023\nTalks resume\n\n"
        "AMMAN, May 3 (Wire) - The crossing reopened today. Trucks moved.\n"
        "Read more: other news\nShare this article\nAdvertisement\nComments\n"
    )
    assert cut(text) == ["Talks resume", "The crossing reopened today.", "Trucks moved."]


def test_hard_wrapped_lines_are_joined_and_markdown_prefixes_dropped() -> None:
    text = "# A title\n\nThe envoy said the talks\nwould resume soon. Others\ndisagreed.\n- A list item here.\n"
    spans = segment(text, CFG.cleaning, CFG.segmentation, markdown=True)
    assert [s.text for s in spans] == [
        "A title",
        "The envoy said the talks would resume soon.",
        "Others disagreed.",
        "A list item here.",
    ]


def test_blocks_skip_empty_and_furniture_lines() -> None:
    text = "Title\n\nendNewsMessage1\n\nBody text here."
    assert [text[s:e] for s, e in content_blocks(text, CFG.cleaning)] == ["Title", "Body text here."]


def _seed_text() -> str:
    """Sentences of some seed documents (no page furniture), on one line."""
    import json

    rows = [
        json.loads(line)
        for p in sorted(Path("seeds").glob("0[0-4]*.gold.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return " ".join(r["text"] for r in rows) + " "


def test_a_one_line_document_gives_the_sentences_of_the_same_text_with_line_breaks() -> None:
    cfg = DatasetConfig()
    one_line = _seed_text()
    spans = segment(one_line, cfg.cleaning, cfg.segmentation)
    broken = "\n".join(s.text for s in spans)
    assert [s.text for s in segment(broken, cfg.cleaning, cfg.segmentation)] == [s.text for s in spans]
    assert len(spans) > 500


def test_each_full_stop_reads_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The look-back before a full stop stops at _MAX_TOKEN characters: no rescan from the block's start."""
    import training.segment as seg_module

    calls = {"n": 0}
    real = seg_module._TOKEN_CHARS

    class Counting:
        def match(self, text: str, pos: int) -> object:
            calls["n"] += 1
            return real.match(text, pos)

    monkeypatch.setattr(seg_module, "_TOKEN_CHARS", Counting())
    cfg = DatasetConfig()
    text = ("Officials met in Doha. " * 2000) + ("x" * 5000 + ". Then ") * 20
    stops = text.count(".")
    segment(text, cfg.cleaning, cfg.segmentation)
    assert calls["n"] <= (seg_module._MAX_TOKEN + 1) * stops


def test_control_characters_become_spaces_and_offsets_still_point_at_the_text() -> None:
    cfg = DatasetConfig()
    text = "Cairo\x07 and Ankara named\x1b ambassadors. The talks\x85 ran late."
    spans = segment(text, cfg.cleaning, cfg.segmentation)
    assert [s.text for s in spans] == ["Cairo and Ankara named ambassadors.", "The talks ran late."]
    assert all(len(text[s.start : s.end]) == s.end - s.start for s in spans)
