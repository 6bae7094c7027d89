"""A SQLite database the daemon cannot use (read-only, not a database, damaged): one line
naming storage.url, exit status 2 (the CLI's for a ConfigError; the systemd unit does not
restart on it), and the file untouched.

As root permissions do not bind, so the file or folder is made immutable (`chattr +i`)
as an operator's read-only mount would be; a non-root run uses chmod. Old code: a
`file:` URI with `mode=ro` started, then failed its first write with "database error:
... attempt to write a readonly database", exit status 1: restarted for ever.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crackdown.config import ConfigError
from crackdown.storage_open import open_database


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` unwritable even to root, as long as the block runs."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs ext4 and CAP_LINUX_IMMUTABLE)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mode_ro_uri_is_a_config_error_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "crackdown.db"
    open_database(f"sqlite:///{path}").dispose()
    before = digest(path)
    with pytest.raises(ConfigError, match=f"^storage.url: mode=ro opens {path} read-only"):
        open_database(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert digest(path) == before


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_an_immutable_file_or_folder_is_a_config_error_naming_it(
    tmp_path: Path, locked: str
) -> None:
    path = tmp_path / "data" / "crackdown.db"
    open_database(f"sqlite:///{path}").dispose()
    before = digest(path)
    match = f"^storage.url: .*{path.parent}"
    with (
        read_only(path if locked == "file" else path.parent),
        pytest.raises(ConfigError, match=match) as raised,
    ):
        open_database(f"sqlite:///{path}")
    assert "\n" not in str(raised.value)
    assert digest(path) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_file_that_is_not_a_database_or_is_damaged_is_a_config_error(
    tmp_path: Path, damage: str
) -> None:
    """Old code: "database error: ... file is not a database" (or "... malformed"), exit 1,
    which systemd restarts on: a restart loop no restart can end."""
    path = tmp_path / "crackdown.db"
    if damage == "garbage":
        path.write_bytes(b"\x13not sqlite" * 1000)
    else:
        open_database(f"sqlite:///{path}").dispose()
        with path.open("r+b") as file:  # the schema's pages, as a bad disk leaves them
            file.seek(4096)
            file.write(b"\xff" * 8192)
    with pytest.raises(ConfigError, match=f"^storage.url: {path} is not a usable SQLite"):
        open_database(f"sqlite:///{path}")
