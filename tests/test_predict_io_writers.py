"""JSON lines, CSV and table rows of ``stance predict``, byte for byte what ``json.dumps`` writes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from training.labels import LABELS
from training.predict_io import PredictStats
from training.predict_io.writers import JsonlWriter, probability, probability_tails


@pytest.mark.parametrize(
    "p",
    [
        0.0,
        1.0,
        0.5,
        1 / 3,
        2 / 3,
        0.1,
        1e-4,
        0.00009999996,
        0.0000995,
        5e-5,
        1e-7,
        0.9999995,
        0.12345650000000001,
        0.1234565,
        3e-12,
        123456.7891234,
        1e9,
        2e16,
        float("nan"),
        float("inf"),
        -0.0,
        -0.25,
    ],
)
def test_probabilities_are_written_as_json_dumps_writes_them_rounded(p: float) -> None:
    assert probability(p) == json.dumps(round(p, 6))


def test_random_probabilities_match_json_dumps() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.random(20_000), 10 ** rng.uniform(-9, 9, 20_000)]).tolist()
    assert [probability(p) for p in values] == [json.dumps(round(p, 6)) for p in values]


def test_a_batch_of_probabilities_is_formatted_as_json_dumps_writes_each_value() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([0.3, 0.3, 0.3], size=5_000)  # many values below 1e-4, some exactly 0
    proba[:40] = [[0.0, 1.0, 0.0], [0.5, 0.25, 0.25], [5e-5, 0.99995, 0.0], [float("nan"), 0.5, 0.5]] * 10
    proba[40:50] = rng.uniform(-3, 1e10, (10, 3))
    keys = (', "b": ', ', "c%d": ')
    expected = [
        probability(a) + keys[0] + probability(b) + keys[1] + probability(c) + "}}\n" for a, b, c in proba.tolist()
    ]
    assert probability_tails(proba, keys) == expected
    assert probability_tails(np.zeros((0, 3)), keys) == []


def test_jsonl_rows_are_json_dumps_of_the_merged_record() -> None:
    records = [
        {"line": 1, "text": 'caf\u00e9 \u201cquoted\u201d \\ "x"'},
        {},
        {"id": "a", "meta": {"n": [1, None, True]}},
        {"id": "b", "label": "gold", "text": "t"},
        {"probabilities": [1], "text": "u"},
    ]
    proba = [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0], [0.123456789, 0.000012, 0.876531211], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]]
    labels = ["against", "favor", "neutral", "neutral", "neutral"]
    expected = "".join(
        json.dumps(
            {**r, "label": lab, "probabilities": {k: round(x, 6) for k, x in zip(LABELS, p)}}, ensure_ascii=False
        )
        + "\n"
        for r, lab, p in zip(records, labels, proba)
    )
    out, stats = io.StringIO(), PredictStats()
    JsonlWriter(out, LABELS, stats).write([dict(r) for r in records], labels, np.array(proba))
    assert out.getvalue() == expected
    assert stats.replaced_fields == {"label", "probabilities"}


# Written by the writer that used CPython's private ``json.encoder.c_make_encoder``: the public
# encoder that replaced it must give the same bytes.
EXPECTED_BY_THE_PREVIOUS_WRITER = (
    '{"line": 7, "text": "Caf\u00e9 \u00ab\u00a0d\u00e9j\u00e0\u00a0\u00bb \u2014 \\"quoted\\" \\\\ tab\\there'
    '\u2028\U0001f600", "label": "neutral", "probabilities": {"against": 0.123456, "favor": 5e-05, '
    '"neutral": 0.876538}}\n'
    '{"id": 12345678901234567890, "n": -0.0, "x": 1e-07, "big": 1e+300, "ok": true, "none": null, '
    '"nested": {"k\\"ey": [1.5, "\\u0001"]}, "label": "against", "probabilities": {"against": 1.0, '
    '"favor": 0.0, "neutral": 0.0}}\n'
    '{"label": "uncertain", "probabilities": {"against": 0.333333, "favor": 0.333333, "neutral": 0.333333}}\n'
)


def test_jsonl_bytes_are_those_of_the_previous_writer() -> None:
    records = [
        {
            "line": 7,
            "text": 'Caf\u00e9 \u00ab\u00a0d\u00e9j\u00e0\u00a0\u00bb \u2014 "quoted" \\ tab\there\u2028\U0001f600',
        },
        {
            "id": 12345678901234567890,
            "n": -0.0,
            "x": 1e-7,
            "big": 1e300,
            "ok": True,
            "none": None,
            "nested": {'k"ey': [1.5, "\u0001"]},
        },
        {},
    ]
    proba = np.array([[0.1234565, 0.00005, 0.8765385], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    out = io.StringIO()
    JsonlWriter(out, ("against", "favor", "neutral"), PredictStats()).write(
        records, ["neutral", "against", "uncertain"], proba
    )
    assert out.getvalue().encode("utf-8") == EXPECTED_BY_THE_PREVIOUS_WRITER.encode("utf-8")


def test_a_value_json_cannot_write_is_refused_with_its_type() -> None:
    writer = JsonlWriter(io.StringIO(), LABELS, PredictStats())
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        writer.write([{"tags": {"a"}}], ["favor"], np.array([[0.2, 0.5, 0.3]]))
