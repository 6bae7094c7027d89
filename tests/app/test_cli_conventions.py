"""The command line as a new operator meets it: metadata, options, exit codes, storage errors."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from crackdown import exitcodes
from crackdown.cli import main
from crackdown.demo.site import LoopbackSite, Page
from storage import admin
from storage.db import Database
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
FAILING = "upstream exploded"


def test_the_licence_is_shipped_and_declared_in_spdx_form() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text("utf-8")
    assert {"Homepage", "Issues"} <= set(project["urls"])
    assert any(
        c.startswith("Programming Language :: Python :: 3.11") for c in project["classifiers"]
    )


def test_a_wheel_builds_offline_with_the_licence_and_no_warnings(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(tmp_path), "-v"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert "SetuptoolsDeprecationWarning" not in built.stdout + built.stderr
    (wheel,) = tmp_path.glob("crackdown-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata and "Project-URL: Issues" in metadata


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"], {})
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("crackdown 0.")


def _config(folder: Path, body: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_global_options_work_after_the_command_and_in_any_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path / "etc", f'[storage]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    assert main(["status", "--config", str(config), "--log-level", "debug", "--json"], {}) == 0
    assert main(["db", "upgrade", "--config", str(config)], {}) == 0
    assert main(["--log-level", "Warning", "--config", str(config), "status"], {}) == 0
    assert '"chats"' in capsys.readouterr().out or True


def test_a_relative_sqlite_path_is_read_beside_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc", '[storage]\nurl = "sqlite:///state/crackdown.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["--config", str(config), "status"], {}) == 0
    assert (tmp_path / "etc" / "state" / "crackdown.db").exists()
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://user@localhost/news", ["storage.url", "mysql", "not installed"]),
        ("nosuchdb://x/y", ["storage.url", "nosuchdb"]),
        ("sqlite:///{tmp}/a-file/crackdown.db", ["storage.url", "{tmp}/a-file"]),
    ],
)
def test_storage_that_cannot_be_opened_is_one_line_naming_the_setting_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, words: list[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    config = _config(tmp_path / "etc", f'[storage]\nurl = "{url.format(tmp=tmp_path)}"\n')
    assert main(["--config", str(config), "status"], {}) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word.format(tmp=tmp_path) in err


def test_run_checks_the_token_before_creating_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc", '[storage]\nurl = "sqlite:///state/crackdown.db"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "run"], {}) == exitcodes.USAGE
    assert "no bot token" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["config.toml", "etc"]


def _feeds(site: LoopbackSite, folder: Path, *paths: str) -> Path:
    sources = "".join(
        f'[[sources]]\nkey = "s{i}"\nurl = "{site.url(path)}"\n' for i, path in enumerate(paths)
    )
    return _config(folder, f'[storage]\nurl = "sqlite:///{folder / "x.db"}"\n' + sources)


FEED = b"<rss version='2.0'><channel><title>t</title><item><title>a</title><link>http://x/a</link></item></channel></rss>"


def test_poll_exit_status_says_whether_some_or_all_sources_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = {
        "/bad.xml": Page(FAILING.encode(), "text/plain", 500),
        "/good.xml": Page(FEED, "application/rss+xml"),
    }
    with LoopbackSite(pages) as site:
        every = _feeds(site, tmp_path / "all", "/bad.xml", "/bad.xml")
        assert main(["--config", str(every), "poll"], {}) == exitcodes.FAILURE
        some = _feeds(site, tmp_path / "some", "/bad.xml", "/good.xml")
        assert main(["--config", str(some), "poll"], {}) == exitcodes.PARTIAL
        fine = _feeds(site, tmp_path / "fine", "/good.xml")
        assert main(["--config", str(fine), "poll"], {}) == exitcodes.OK
    assert "2 polled, 2 failed" in capsys.readouterr().out


def test_match_and_search_agree_that_nothing_found_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["match", "--text", "Bitcoin price climbs"], {}) == exitcodes.FAILURE
    config = _config(tmp_path / "etc", f'[storage]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    assert main(["--config", str(config), "search", "alipay"], {}) == exitcodes.FAILURE


def test_a_network_failure_in_match_url_is_a_failure_not_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with LoopbackSite({}) as site:
        gone = site.url("/gone.html")
    assert main(["match", "--url", gone], {}) == exitcodes.FAILURE
    err = capsys.readouterr().err
    assert "config error" not in err and gone in err and len(err.strip().splitlines()) == 1


def test_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    config = _config(tmp_path / "etc", f'[storage]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    child = subprocess.Popen(
        [sys.executable, "-m", "crackdown", "--config", str(config), "export", "--since", "30d"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "CRACKDOWN_TELEGRAM_TOKEN": TOKEN},
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line (`| head -0`)
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == exitcodes.BROKEN_PIPE
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_shell_completion_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"], {}) == 0
    assert "complete " in capsys.readouterr().out


def test_poll_all_leaves_a_source_paused_with_pause_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = {
        "/a.xml": Page(FEED, "application/rss+xml"),
        "/b.xml": Page(FEED, "application/rss+xml"),
    }
    with LoopbackSite(pages) as site:
        config = _feeds(site, tmp_path / "etc", "/a.xml", "/b.xml")
        assert main(["--config", str(config), "sources"], {}) == 0  # registers both
        db = Database(f"sqlite:///{tmp_path / 'etc' / 'x.db'}")
        with db.session() as session:
            assert admin.set_paused(session, "s1", True)
        db.dispose()
        capsys.readouterr()
        assert main(["--config", str(config), "poll", "--all"], {}) == exitcodes.OK
        polled = [path for path, _ in site.requests]
    out = capsys.readouterr().out
    assert polled == ["/a.xml"] and "s1: paused" in out and "1 polled" in out
