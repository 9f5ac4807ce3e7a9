import json
from pathlib import Path

import pytest
from training.annotate import Session, check_annotator, default_output, keys_from, lock_for, run
from training.cli import app
from training.errors import StanceError
from typer.testing import CliRunner

runner = CliRunner()
ROWS = [
    {
        "doc_id": "d1",
        "sentence_index": i,
        "text": text,
        "before": [],
        "after": [],
        "guess": "neutral",
        "probabilities": {"favor": 0.2, "against": 0.2, "neutral": 0.6},
    }
    for i, text in enumerate(
        ["Riyadh reopened its embassy.", "Protesters rejected the deal.", "It rained.", "Talks resumed."]
    )
]


@pytest.fixture()
def queue(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_keys_label_skip_undo_and_quit(queue: Path) -> None:
    result = runner.invoke(app, ["annotate", str(queue), "--annotator", "alice"], input="f a s u n q")
    assert result.exit_code == 0, result.output
    out = default_output(queue, "alice")
    assert out.name == "q.alice.gold.jsonl"
    assert [(r["text"], r["label"], r["annotator"]) for r in lines(out)] == [
        ("Riyadh reopened its embassy.", "favor", "alice"),
        ("Protesters rejected the deal.", "against", "alice"),
        ("It rained.", "neutral", "alice"),
    ]
    assert "» Riyadh reopened its embassy. «" in result.output and "model's guess: neutral" in result.output
    assert "stopped; run the same command to go on: 3 of 4 labelled (3 now), 0 skipped, 1 left" in result.output


def test_a_restart_resumes_after_the_answers_and_skips_on_disk(queue: Path) -> None:
    runner.invoke(app, ["annotate", str(queue), "-a", "alice"], input="f s q")
    result = runner.invoke(app, ["annotate", str(queue), "-a", "alice"], input="n")  # input ends: quit
    assert "3/4" in result.output and "1/4" not in result.output
    out = default_output(queue, "alice")
    assert [r["label"] for r in lines(out)] == ["favor", "neutral"]
    final = runner.invoke(app, ["annotate", str(queue), "-a", "alice"], input="a")
    assert "done: 3 of 4 labelled (1 now), 1 skipped, 0 left" in final.output
    assert [r["text"] for r in lines(out)][-1] == "Talks resumed."


def test_undo_takes_back_only_this_sessions_answers(queue: Path, tmp_path: Path) -> None:
    out = tmp_path / "gold.jsonl"
    session = Session(ROWS, out, "bob")
    session.load()
    shown: list[object] = []
    assert run(session, iter("fuuxq"), shown.append) == "quit"
    assert out.read_text(encoding="utf-8") == "" and session.done == {}
    assert any("nothing to undo" in str(getattr(s, "plain", "")) for s in shown)
    assert any("unknown key 'x'" in str(getattr(s, "plain", "")) for s in shown)


def test_names_with_paths_and_foreign_outputs_are_refused(queue: Path, tmp_path: Path) -> None:
    for bad in ("../alice", "a/b", "", "x" * 65, ".hidden"):
        with pytest.raises(StanceError, match=r"invalid --annotator"):
            check_annotator(bad)
    result = runner.invoke(app, ["annotate", str(queue), "-a", "../evil"])
    assert result.exit_code == 1 and result.output.count("error:") == 1
    other = tmp_path / "bob.gold.jsonl"
    other.write_text(
        json.dumps({"text": "It rained.", "label": "neutral", "doc_id": "d1", "annotator": "bob"}) + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["annotate", str(queue), "-a", "alice", "--out", str(other)], input="f")
    assert result.exit_code == 1 and "holds labels by 'bob', not 'alice'" in result.output
    assert len(lines(other)) == 1


def test_a_second_session_on_one_output_is_refused(queue: Path) -> None:
    out = default_output(queue, "alice")
    held = lock_for(out)
    try:
        result = runner.invoke(app, ["annotate", str(queue), "-a", "alice"], input="f")
    finally:
        held.release()
    assert result.exit_code == 1 and "error: another annotate session is writing" in result.output
    assert not out.exists()


def test_an_invalid_queue_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"doc_id": "d1", "text": "One."\n', encoding="utf-8")
    result = runner.invoke(app, ["annotate", str(bad), "-a", "alice"])
    assert result.exit_code == 1 and [line for line in result.output.splitlines() if line] == [
        f"error: malformed JSON: {bad}:1: Expecting ',' delimiter (fix or remove that line)"
    ]


def test_keys_from_a_stream_ignore_whitespace_and_end_at_eof() -> None:
    import io

    assert list(keys_from(io.StringIO("F \n a\tq"))) == ["f", "a", "q"]


@pytest.mark.slow
def test_in_a_real_terminal_keys_need_no_enter_and_a_kill_keeps_every_answer(queue: Path) -> None:
    import os
    import signal
    import sys

    import pexpect

    def spawn() -> "pexpect.spawn":
        return pexpect.spawn(
            sys.executable,
            ["-m", "training", "annotate", str(queue), "-a", "alice"],
            cwd=str(queue.parent),
            encoding="utf-8",
            timeout=60,
            dimensions=(40, 120),
            env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
        )

    out = default_output(queue, "alice")
    first = spawn()
    first.expect_exact("1/4")
    first.expect_exact("[q] quit")
    first.send("f")  # a single key, no Enter
    first.expect_exact("2/4")
    first.send("a")
    first.expect_exact("3/4")
    first.expect_exact("[q] quit")
    second = spawn()  # the same output file while the first session holds it
    second.expect_exact("another annotate session is writing")
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 1
    os.kill(first.pid, signal.SIGKILL)
    first.expect(pexpect.EOF)
    first.close()
    assert [r["label"] for r in lines(out)] == ["favor", "against"]
    again = spawn()
    again.expect_exact("3/4")
    again.send("n")
    again.expect_exact("4/4")
    again.send("q")
    again.expect_exact("stopped; run the same command to go on: 3 of 4 labelled (1 now)")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0 and [r["label"] for r in lines(out)] == ["favor", "against", "neutral"]
