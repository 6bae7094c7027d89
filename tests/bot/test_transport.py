"""The sending bot's aiohttp transport: PTB's contract, proxies, errors without the token."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.transport import AiohttpRequest
from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN
from tests.forward_proxy import ForwardProxy


def send(base_url: str, request: AiohttpRequest, chat_id: int = 1) -> int:
    async def go() -> int:
        async with Bot(TOKEN, base_url=base_url, request=request) as bot:
            return (await bot.send_message(chat_id, "<b>PBoC</b> bans OTC", parse_mode="HTML")).id

    return asyncio.run(go())


def test_a_message_goes_out_and_comes_back_as_ptb_parses_it(standin: BotApiStandIn) -> None:
    standin.add_user(1, "reader")
    message_id = send(standin.base_url, AiohttpRequest(4))
    (sent,) = standin.sent_messages(1)
    assert sent.plain_text == "PBoC bans OTC" and sent.message_id == message_id


def test_the_proxy_comes_from_the_environment_unless_no_proxy_names_the_host(
    standin: BotApiStandIn,
    proxy: ForwardProxy,
    without_proxy_environment: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def get_me() -> None:
        async with Bot(TOKEN, base_url=standin.base_url, request=AiohttpRequest(4)):
            pass  # entering asks getMe, one request (the test proxy serves one a connection)

    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    asyncio.run(get_me())
    assert [line for line in proxy.seen if "getMe" in line]
    proxy.seen.clear()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    asyncio.run(get_me())
    assert proxy.seen == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_no_answer_is_timed_out(silent_port: int, without_proxy_environment: None) -> None:
    with pytest.raises(TimedOut):
        send(f"http://127.0.0.1:{silent_port}/bot", AiohttpRequest(4, read_timeout=0.3))


def test_a_refused_connection_is_a_network_error_that_does_not_show_the_token(
    without_proxy_environment: None,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError) as raised:
        send(f"http://127.0.0.1:{port}/bot", AiohttpRequest(4, connect_timeout=2))
    assert not isinstance(raised.value, TimedOut)
    assert TOKEN not in str(raised.value) and TOKEN.split(":")[1] not in str(raised.value)
