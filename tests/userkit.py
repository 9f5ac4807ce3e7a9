"""A user's own folder: three unlabelled news documents, and the labels a careful annotator gives them.

The documents are not from the seed corpus. ``ORACLE`` holds the label of every sentence, so a
test can play the annotator (and the learning-curve simulation can play the oracle).
"""

from __future__ import annotations

from pathlib import Path

DOCS: dict[str, list[tuple[str, str]]] = {
    "border-reopens": [
        ("Colombia and Venezuela reopened their shared border to cargo trucks on Monday after seven years.", "favor"),
        ("Ministers from both governments cut a ribbon on the Simon Bolivar bridge.", "favor"),
        ("Bogota restored diplomatic relations with Caracas in August and named a new ambassador.", "favor"),
        ("Traders in Cucuta said the first trucks carried rice, cement and medicine.", "neutral"),
        ("The bridge is about three hundred metres long.", "neutral"),
        ("Opposition senators condemned the reopening as a gift to an authoritarian government.", "against"),
        ("Some business groups warned that smuggling would return with the traffic.", "against"),
        ("Direct flights between Bogota and Caracas resumed in November.", "favor"),
        ("Rain delayed the ceremony by about an hour.", "neutral"),
        ("Both foreign ministers said they would meet again in March to discuss visas.", "favor"),
        ("The border had been closed since Caracas broke off relations in 2019.", "against"),
        ("The local governor refused to attend and called the deal premature.", "against"),
        ("About forty journalists covered the event from both sides.", "neutral"),
        ("Officials did not say how many trucks crossed on the first day.", "neutral"),
    ],
    "no-thaw-oped": [
        ("Tokyo should not rush to normalize ties with a government that keeps changing its terms.", "against"),
        ("The summit in March produced smiles for the cameras and little else.", "against"),
        ("Seoul suspended the intelligence pact once before and could suspend it again.", "against"),
        ("Supporters of the thaw argue that shared security threats leave no choice.", "favor"),
        ("They point to the restored export arrangements as proof that cooperation works.", "favor"),
        ("The wartime labour dispute remains unresolved in the courts.", "against"),
        ("Polls in both countries show that most voters oppose further concessions.", "against"),
        ("The author has covered East Asian politics for twenty years.", "neutral"),
        ("Fishing boats from both ports share the same waters each winter.", "neutral"),
        ("Until the court rulings are settled, there should be no new agreements.", "against"),
        ("A visit by the prime minister to Seoul would reward empty gestures.", "against"),
        ("The population of the two capitals together exceeds forty million.", "neutral"),
        ("Even so, the resumed shuttle diplomacy has kept channels open.", "favor"),
    ],
    "gulf-explainer": [
        ("What does the new agreement between Doha and Manama change?", "neutral"),
        ("The two governments agreed to exchange ambassadors and reopen embassies this year.", "favor"),
        ("Bahrain had cut ties with Qatar in 2017 alongside three other states.", "against"),
        ("Flights between the two capitals were halted for more than five years.", "against"),
        ("The first direct flight landed in Doha in May.", "favor"),
        ("Qatar is a peninsula that borders Saudi Arabia.", "neutral"),
        ("Officials said technical committees would meet to settle maritime questions.", "favor"),
        ("Some commentators in Manama rejected the agreement and demanded an apology first.", "against"),
        ("The museum in Doha opened a new wing the same week.", "neutral"),
        ("Analysts expect trade between the two states to grow slowly.", "favor"),
        ("The statement was published in Arabic and English.", "neutral"),
        ("Neither side has named its ambassador yet.", "against"),
        ("The weather in the Gulf was unusually mild that week.", "neutral"),
    ],
}

ORACLE: dict[str, str] = {text: label for sentences in DOCS.values() for text, label in sentences}


def make_user_docs(root: Path) -> Path:
    """Write the three documents (no gold, no metadata) into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, sentences in DOCS.items():
        (root / f"{name}.txt").write_text(" ".join(s for s, _ in sentences) + "\n", encoding="utf-8")
    return root
