"""A step's log while it runs (mlrig.runtime.step_logs): in memory while short, in its file
once long, the tail kept; a worker on another host sends back the end of its log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrig.exceptions import StoreError
from mlrig.runtime.step_logs import MEMORY_CHARS, REMOTE_CHARS, TAIL_CHARS, StepLog, adopt

RUN = "c" * 32


def logs_dir(tmp_path: Path) -> Path:
    (tmp_path / "logs" / RUN).mkdir(parents=True)
    return tmp_path / "logs"


def test_a_short_log_stays_in_memory(tmp_path: Path) -> None:
    log = StepLog("fit", str(logs_dir(tmp_path)), RUN, os.uname().nodename)
    log.write("hello\n")
    assert log.finish() == ("hello\n", None)
    assert list((tmp_path / "logs" / RUN).iterdir()) == []


def test_a_long_log_goes_to_its_file_and_is_adopted(tmp_path: Path) -> None:
    import socket

    logs = logs_dir(tmp_path)
    log = StepLog("fit", str(logs), RUN, socket.gethostname())
    line = "y" * 99 + "\n"
    for _ in range(MEMORY_CHARS // 100 * 3):
        log.write(line)
    log.write("end\n")
    text, name = log.finish()
    assert name is not None and len(text) == TAIL_CHARS and text.endswith("end\n")
    log.write("after the end\n")  # a stray thread: ignored
    path = adopt(logs, RUN, name, "fit")
    assert path == logs / RUN / "fit.log"
    assert path.stat().st_size == MEMORY_CHARS // 100 * 3 * 100 + 4
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in (logs / RUN).iterdir()] == ["fit.log"]


def test_a_worker_on_another_host_sends_back_the_end(tmp_path: Path) -> None:
    log = StepLog("fit", str(logs_dir(tmp_path)), RUN, "another-host.invalid")
    block = "z" * 1023 + "\n"
    for _ in range(REMOTE_CHARS // 1024 + 2048):
        log.write(block)
    text, name = log.finish()
    assert name is None
    first, rest = text.split("\n", 1)
    assert first.startswith("[mlrig: the first 2097152 bytes of this log were left")
    assert len(rest) == REMOTE_CHARS and rest.endswith(block)
    assert list((tmp_path / "logs" / RUN).iterdir()) == []


def test_adopt_refuses_other_names_and_a_link_in_place(tmp_path: Path) -> None:
    logs = logs_dir(tmp_path)
    (logs / RUN / ".fit.abc.part").write_text("log")
    for name in ("../../x", "fit.log", ".other.abc.part"):
        with pytest.raises(StoreError, match="Refusing to adopt"):
            adopt(logs, RUN, name, "fit")
    target = tmp_path / "elsewhere.txt"
    target.write_text("not a log")
    os.symlink(target, logs / RUN / "fit.log")
    with pytest.raises(StoreError):
        adopt(logs, RUN, ".fit.abc.part", "fit")
    assert target.read_text() == "not a log"
