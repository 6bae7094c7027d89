"""Terminal output: colour only where wanted, CJK columns, completion, progress meters."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from crackdown.console.progress import Meter
from crackdown.console.tables import table
from crackdown.console.terminal import clip, use_color, width


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert use_color(_Terminal(), {})
    assert not use_color(_Terminal(), {"NO_COLOR": "1"})
    assert not use_color(io.StringIO(), {})
    assert not use_color(_Terminal(), {"TERM": "dumb"})


def test_tables_align_chinese_titles_by_display_width() -> None:
    lines = table(
        ("what", "status"),
        [("央行：虚拟货币交易属于非法金融活动", "sent"), ("PBoC bans OTC", "held")],
    ).splitlines()
    columns = {
        width(line[: line.index(status)])
        for line, status in zip(lines[2:], ("sent", "held"), strict=True)
    }
    assert len(columns) == 1  # "status" starts in one column on every row
    assert width(clip("幣安被禁止在中國應用商店上架", 10)) <= 10


def test_meters_draw_only_on_a_terminal_and_leave_nothing_behind() -> None:
    pipe = io.StringIO()
    meter = Meter(pipe, "stories exported")
    for _ in range(3):
        meter.step()
    meter.close()
    assert pipe.getvalue() == "" and meter.done == 3
    screen = _Terminal()
    meter = Meter(screen, "examples matched", total=3)
    meter.step()
    meter.close()
    assert "1/3 examples matched" in screen.getvalue() and screen.getvalue().endswith("\x1b[K")


def test_shell_completion_completes_commands_and_options() -> None:
    def complete(line: str) -> str:
        env = {
            **os.environ,
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": " ",
        }
        read, write = os.pipe()

        def answer_on_fd_8() -> None:  # argcomplete answers on fd 8, debugs on fd 9
            os.dup2(write, 8)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 9)

        child = subprocess.run(
            [sys.executable, "-m", "crackdown"],
            env=env,
            pass_fds=(write, 8, 9),
            preexec_fn=answer_on_fd_8,
            capture_output=True,
            timeout=60,
        )
        os.close(write)
        with os.fdopen(read) as answer:
            text = answer.read()
        assert child.returncode == 0, child.stderr
        return text

    assert complete("crackdown sta").split() == ["status"]
    assert "--config" in complete("crackdown status --co").split()
