"""A tiny labelled corpus written into a temporary folder, shaped like ``seeds/``."""

from __future__ import annotations

import json
from pathlib import Path

# (doc name, episode, register, [(sentence, label)]); sentences are distinct across documents.
DOCS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "d01",
        "saudi-iran",
        "wire",
        [
            ("Riyadh and Tehran agreed to reopen embassies.", "favor"),
            ("The talks took place in Beijing in March.", "neutral"),
            ("Hardliners in both capitals rejected the deal.", "against"),
        ],
    ),
    (
        "d02",
        "saudi-iran",
        "op-ed-against",
        [
            ("The new accord rewards a hostile neighbour.", "against"),
            ("Delegations met for four days.", "neutral"),
            ("Flights between the two capitals resumed in June.", "favor"),
        ],
    ),
    (
        "d03",
        "us-cuba",
        "news",
        [
            ("Washington restored full diplomatic ties with Havana in 2015.", "favor"),
            ("The embargo itself stayed in force.", "against"),
            ("Havana sits on the northern coast of the island.", "neutral"),
        ],
    ),
    (
        "d04",
        "us-cuba",
        "analysis",
        [
            ("The 2017 reversal tightened travel rules again.", "against"),
            ("Cruise ships docked in Havana harbour for a while.", "favor"),
            ("The report runs to forty pages.", "neutral"),
        ],
    ),
    (
        "d05",
        "turkey-armenia",
        "readout",
        [
            ("The envoys agreed to open the land border for third-country nationals.", "favor"),
            ("The meeting was held in Vienna.", "neutral"),
            ("Yerevan will not accept preconditions on the talks.", "against"),
        ],
    ),
    (
        "d06",
        "turkey-armenia",
        "interview",
        [
            ("Ankara has no plans to establish relations before a peace deal in the Caucasus.", "against"),
            ("The charter flights between Istanbul and Yerevan restarted.", "favor"),
            ("The interview was recorded on Tuesday.", "neutral"),
        ],
    ),
    (
        "d07",
        "serbia-kosovo",
        "live-blog",
        [
            ("Belgrade and Pristina signed the licence plate arrangement.", "favor"),
            ("Protesters blocked the road to the crossing at Jarinje.", "against"),
            ("The weather in Brussels was mild.", "neutral"),
        ],
    ),
    (
        "d08",
        "serbia-kosovo",
        "statement",
        [
            ("The ministry refused to recognise the passports issued in Pristina.", "against"),
            ("Officials welcomed the deal on energy and electricity.", "favor"),
            ("A press conference is scheduled for noon.", "neutral"),
        ],
    ),
    (
        "d09",
        "ethiopia-eritrea",
        "news",
        [
            ("The first flight from Addis Ababa landed in Asmara after twenty years.", "favor"),
            ("The border crossing at Zalambessa was closed again months later.", "against"),
            ("Coffee prices rose in the market that week.", "neutral"),
        ],
    ),
]


def make_seeds(root: Path, *, with_gold: bool = True, extra_unlabelled: bool = True) -> Path:
    """Write the documents, gold files, metadata and an agreement file under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    meta = ["id,title,episode,countries,date,register,origin"]
    agreement = []
    for name, episode, register, sentences in DOCS:
        (root / f"{name}.txt").write_text(" ".join(s for s, _ in sentences) + "\n", encoding="utf-8")
        if with_gold:
            gold = "\n".join(json.dumps({"text": s, "label": label}) for s, label in sentences)
            (root / f"{name}.gold.jsonl").write_text(gold + "\n", encoding="utf-8")
        meta.append(f"{name},{sentences[0][0][:20]},{episode},A;B,2020-01,{register},written")
        for s, label in sentences:
            agreement.append(json.dumps({"doc_id": name, "text": s, "first": label, "second": label}))
    if extra_unlabelled:
        (root / "x01.txt").write_text(
            "Cairo did not rule out reopening the embassy. The mission is staffed by six people.\n", encoding="utf-8"
        )
    (root / "metadata.csv").write_text("\n".join(meta) + "\n", encoding="utf-8")
    (root / "agreement.jsonl").write_text("\n".join(agreement) + "\n", encoding="utf-8")
    return root
