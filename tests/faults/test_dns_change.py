"""A source's DNS name moves to another address between polls (checked, not changed).

The guard resolves at each new connection and keeps no address as allowed: the poll after
the move reaches the new server, and a redirect to a name still on the old (private)
address is refused, since that address is no longer the configured host's. The resolver
(the OS's, not ours) is swapped for a table the test changes; the servers are real.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.netguard import fetching_for
from crawler.types import FetchState

POLICY = HttpPolicy(allow_private_networks=False)
DNS: dict[str, str] = {}


def rss(title: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        f"<item><title>{title}</title><link>https://x.example/{title}</link></item>"
        "</channel></rss>"
    ).encode()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        return real(DNS.get(name, name), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    DNS.clear()
    yield DNS
    DNS.clear()


def test_a_moved_name_is_followed_and_its_old_address_is_not_kept_as_allowed(
    resolver: dict[str, str],
) -> None:
    with LoopbackSite() as old:
        try:
            new = LoopbackSite(port=int(old.base_url.rsplit(":", 1)[1]), host="127.0.0.2")
        except OSError:
            pytest.skip("127.0.0.2 is not usable here")
        with new:
            port = old.base_url.rsplit(":", 1)[1]
            old.pages["/feed.xml"] = Page(rss("old"))
            new.pages["/feed.xml"] = Page(rss("new"))
            for site in (old, new):  # both redirect to a name that stays on the old address
                site.pages["/away.xml"] = Page(
                    b"", status=302, headers={"Location": f"http://intranet.test:{port}/feed.xml"}
                )
            feed, away = f"http://feed.test:{port}/feed.xml", f"http://feed.test:{port}/away.xml"

            async def poll(url: str) -> list[str]:
                with fetching_for("s", [feed]):
                    async with make_client(POLICY) as client:
                        fetched = await poll_feed(
                            client, source_key="s", url=url, state=FetchState(), policy=POLICY
                        )
                return [story.title for story in fetched.stories]

            resolver.update({"feed.test": "127.0.0.1", "intranet.test": "127.0.0.1"})
            assert asyncio.run(poll(feed)) == ["old"]
            assert asyncio.run(poll(away)) == ["old"]  # the configured host's own address
            resolver["feed.test"] = "127.0.0.2"  # the source moved
            assert asyncio.run(poll(feed)) == ["new"]
            with pytest.raises(FeedError, match=r"refused non-public address 127\.0\.0\.1"):
                asyncio.run(poll(away))


def test_a_private_address_a_name_had_is_forgotten_once_no_pooled_connection_can_use_it(
    resolver: dict[str, str],
) -> None:
    """Old code: the guard remembered for the daemon's lifetime that news.test had been on
    127.0.0.1 (to stop a pooled connection there being reused for another source), so once
    the name moved every other source's fetch of it was refused until a restart. A public
    address cannot be served here: the name moves to 127.0.0.2, which source b's own host
    is on, so b may reach it; what refused b was only the memory of 127.0.0.1."""
    policy = HttpPolicy(allow_private_networks=False, deadline=0.5)  # remembered 5.5 s
    with LoopbackSite() as old:
        port = old.base_url.rsplit(":", 1)[1]
        try:
            new = LoopbackSite(port=int(port), host="127.0.0.2")
        except OSError:
            pytest.skip("127.0.0.2 is not usable here")
        with new:
            old.pages["/feed.xml"] = Page(rss("old"))
            new.pages["/feed.xml"] = Page(rss("new"))
            news, own = f"http://news.test:{port}/feed.xml", f"http://b.test:{port}/feed.xml"
            resolver.update({"news.test": "127.0.0.1", "b.test": "127.0.0.2"})

            async def run() -> list[str]:
                said: list[str] = []
                async with make_client(policy) as client:  # one client, as in the daemon

                    async def poll(source: str, configured: str) -> None:
                        with fetching_for(source, [configured]):
                            try:
                                fetched = await poll_feed(
                                    client, source_key=source, url=news, state=FetchState(),
                                    policy=policy,
                                )  # fmt: skip
                            except FeedError as exc:
                                said.append(f"{source}: {exc}")
                                return
                        said.append(f"{source}: {fetched.stories[0].title}")

                    await poll("a", news)  # news.test is a's own host: 127.0.0.1, pooled
                    resolver["news.test"] = "127.0.0.2"
                    await poll("b", own)  # a pooled connection to 127.0.0.1 may be reused
                    await asyncio.sleep(6)  # no pooled connection can outlive this
                    await poll("b", own)
                return said

            said = asyncio.run(run())
    assert said[0] == "a: old"
    assert "refused non-public address 127.0.0.1 of news.test" in said[1]
    assert said[2] == "b: new", said
