"""The README's "Trying the bot without Telegram", pasted into bash as an operator would.

Its shell block runs as written (only its two ports swapped for free ones): the stand-in, the
sample feeds over http.server, the real daemon, and curl playing an English and a Chinese
subscriber, a button and a group with an admin and a member.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Trying the bot without Telegram"


def readme_script() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks, "the section shows its commands in a sh block"
    return "\n".join(blocks)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_readme_walkthrough_shows_each_subscriber_what_telegram_would(tmp_path: Path) -> None:
    script = readme_script()
    assert "python -m crackdown.standin --port 8081" in script  # the ports swapped below
    script = re.sub(r"\b8081\b", str(free_port()), script)
    script = re.sub(r"\b8000\b", str(free_port()), script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRACKDOWN_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its background jobs, ended below whatever happens
    )
    try:
        out, _ = shell.communicate(timeout=240)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    log = (tmp_path / "try.log").read_text("utf-8")
    assert shell.returncode == 0, f"{out}\n--- try.log:\n{log}"
    assert "Bad Request" not in out and "no answer within" not in out, out
    # The welcome and the alerts, in English for 1001 and in Chinese for 1002.
    assert out.count("Subscribed to “China crypto enforcement”") == 2, out  # 1001, the group
    assert "订阅成功" in out and "#支付宝 #比特币" in out and "#Alipay #Bitcoin" in out, out
    assert out.count("Alipay to cut off accounts used for bitcoin OTC trading") == 2, out
    assert "Also reported by: CoinWire" in out and "其他来源: CoinWire" in out, out
    # Commands in both languages, and the button: tapped, answered, redrawn.
    assert "已关注 支付宝" in out and "你的设置" in out and "语言：zh" in out, out
    assert "Watching: alipay AND action" in out, out
    assert "pressed [✅ China crypto enforcement]; the bot answered: ◻️" in out, out
    assert "buttons now:\n  [◻️ China crypto enforcement]" in out, out
    # The group: the member may not change what it follows, the admin may, anyone may read.
    group = out[out.index('"id": -100200') :]
    assert "只有本群管理员可以更改本群的订阅" in group, out
    assert "Topics:\n• China crypto enforcement" in group, out
    assert "crackdown running" in log and "stopped" in log
    assert "123456:STANDIN" not in log
