"""Long CLI work: a moving counter on a terminal, whole lines in a log or a pipe."""

from __future__ import annotations

import io

from crackdown.console.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_plain_line_per_item_as_it_finishes() -> None:
    out = io.StringIO()
    progress = Progress(out, 2, "feeds")
    progress.step("a  HTTP 200  3 new", new=3)
    assert out.getvalue() == "a  HTTP 200  3 new\n"  # written at once, not at the end
    progress.step("b  error: HTTP 500", error="HTTP 500")
    progress.close()
    assert out.getvalue().splitlines() == ["a  HTTP 200  3 new", "b  error: HTTP 500"]
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_a_counter_redrawn_in_place() -> None:
    out = Terminal()
    progress = Progress(out, 3, "feeds")
    for n in range(3):
        progress.step(f"line {n}", new=2, error="x" if n == 1 else None)
    progress.close()
    text = out.getvalue()
    assert "line 0" not in text  # the caller prints the detail after the counter
    assert text.endswith("3/3 feeds [########################] 6 new, 1 failed\n")
    assert text.startswith("\r1/3 feeds [########................] 2 new, 0 failed")
