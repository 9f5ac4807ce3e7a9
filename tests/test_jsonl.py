from pathlib import Path

import pytest
from training import jsonl
from training.errors import StanceError


def test_blank_lines_come_back_as_none_and_values_keep_their_line_numbers() -> None:
    lines = enumerate(['{"text": "a"}', "   ", "[1, 2]", ""], 1)
    assert list(jsonl.parse_lines(lines, "in.jsonl")) == [(1, {"text": "a"}), (2, None), (3, [1, 2]), (4, None)]
    assert list(jsonl.objects('{"a": 1}\n\n{"b": 2}\n', "f.jsonl")) == [(1, {"a": 1}), (3, {"b": 2})]


def test_a_malformed_line_names_file_and_line() -> None:
    with pytest.raises(
        StanceError, match=r"^malformed JSON: data/x\.jsonl:2: Expecting value \(fix or remove that line\)$"
    ):
        list(jsonl.objects('{"a": 1}\nnot json\n', "data/x.jsonl"))


def test_read_utf8_skips_a_bom_and_names_a_bad_byte(tmp_path: Path) -> None:
    from training.jsonl import read_utf8

    good = tmp_path / "a.jsonl"
    good.write_bytes(b"\xef\xbb\xbf{}\n")
    assert read_utf8(good, "missing") == "{}\n"
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(b'{"x": "\xff"}\n')
    with pytest.raises(StanceError, match=r"b.jsonl has an invalid byte at offset 7 \(save it as UTF-8\)"):
        read_utf8(bad, "missing")
    with pytest.raises(StanceError, match=r"^no such queue$"):
        read_utf8(tmp_path / "c.jsonl", "no such queue")


def test_objects_reporting_lists_every_malformed_line_and_keeps_the_rest() -> None:
    problems: list[str] = []
    got = list(jsonl.objects_reporting('{"a": 1}\nnope\n\n[2]\nNaN\n', "g.jsonl", problems))
    assert got == [(1, {"a": 1}), (4, [2])]
    assert problems == [
        "malformed JSON: g.jsonl:2: Expecting value (fix or remove that line)",
        "malformed JSON: g.jsonl:5: NaN is not valid JSON (fix or remove that line)",
    ]
