import json
import socket
import sys
from pathlib import Path

import pytest
from training.services import ServiceError, free_port
from training.services.process import spawn, tail, tcp_open, wait_until
from training.services.team import down, main


def test_free_port_is_a_port_nothing_listens_on() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert not tcp_open(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert tcp_open(port)


def test_tail_is_the_end_of_the_log_and_empty_without_one(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("a" * 10 + "end", encoding="utf-8")
    assert tail(log, 3) == "end"
    assert tail(tmp_path / "missing.log") == ""


def test_a_service_that_exits_early_raises_with_its_log(tmp_path: Path) -> None:
    proc = spawn(
        "sayer", [sys.executable, "-c", "print('bad config'); raise SystemExit(3)"], tmp_path / "s.log", tmp_path
    )
    with pytest.raises(ServiceError, match=r"^sayer exited early \(3\): bad config"):
        wait_until(lambda: False, proc, 30)


def test_a_service_that_never_answers_is_stopped_after_its_deadline(tmp_path: Path) -> None:
    proc = spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "s.log", tmp_path)
    try:
        with pytest.raises(ServiceError, match=r"^sleeper did not answer within 0 s"):
            wait_until(lambda: False, proc, 0.2)
    finally:
        proc.stop(timeout=5)
    assert proc.proc.returncode is not None


def test_down_without_state_does_nothing(tmp_path: Path) -> None:
    down(tmp_path)  # nothing was started here
    assert not (tmp_path / "state.json").exists()


def test_main_reports_a_service_error_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"pids": [1]}), encoding="utf-8")  # pid 1 is always alive
    assert main(["up", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"error: the services of {tmp_path.resolve()} are already running (make server-stop first)\n"
    )
