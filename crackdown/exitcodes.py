"""The exit statuses every `crackdown` command keeps to (README: "Exit codes").

Scripts and systemd act on them: 2 means "fix the config or the command line"
(the unit does not restart on it), 3 that some sources failed and others did not.
"""

from __future__ import annotations

OK = 0
FAILURE = 1  # the command failed (network, database, every source), or found nothing
USAGE = 2  # a bad option, config file, query or storage.url: retrying will not help
PARTIAL = 3  # poll and crawl: some sources failed, the others succeeded
INTERRUPTED = 130  # Ctrl-C
BROKEN_PIPE = 141  # the reader went away (`| head -1`), as a shell reports SIGPIPE


def of_sources(attempted: int, failed: int) -> int:
    """poll and crawl: OK, PARTIAL when some sources failed, FAILURE when all did."""
    if failed == 0 or attempted == 0:
        return OK
    return FAILURE if failed >= attempted else PARTIAL


class CommandError(Exception):
    """A one-line failure with its exit status (the CLI prints `crackdown: <message>`)."""

    def __init__(self, message: str, status: int = FAILURE) -> None:
        super().__init__(message)
        self.status = status
