"""Config: key-path errors, resolution order, env overrides, the token's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.config import ConfigError, build_config, load_config, parse_duration, resolve_path

SOURCE = {"key": "coindesk", "url": "https://www.coindesk.com/feed", "interval": "10m"}


def error_of(document: dict, environ: dict | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        build_config(document, environ or {})
    return str(error.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"sources": [SOURCE, {**SOURCE, "key": "b"}, {**SOURCE, "key": "c", "url": "ftp:/x"}]},
            "sources[2].url: not a URL",
        ),
        ({"storage": {"url": "sqlite://", "bogus": 1}}, "storage.bogus: unknown key"),
        ({"surprise": {}}, "surprise: unknown key"),
        ({"sources": [{**SOURCE, "interval": "soon"}]}, "sources[0].interval: not a duration"),
        ({"sources": [{**SOURCE, "interval": "-5m"}]}, "sources[0].interval: not a duration"),
        ({"sources": [{**SOURCE, "key": "Bad Key"}]}, "sources[0].key: must be lower-case"),
        ({"sources": [{**SOURCE, "kind": "carrier-pigeon"}]}, "sources[0].kind:"),
        ({"sources": [SOURCE, SOURCE]}, "sources: duplicate source key 'coindesk'"),
        ({"telegram": {"admin_ids": "me"}}, "telegram.admin_ids:"),
        (
            {"telegram": {"token": "123:abc"}},
            "telegram.token: the bot token is never read from the config file",
        ),
    ],
)
def test_errors_name_the_key_path(document: dict, message: str) -> None:
    assert message in error_of(document)


def test_defaults_need_no_file() -> None:
    config = build_config({}, {})
    assert config.storage.url == "sqlite:///crackdown.db"
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
    assert config.bot_token() is None


def test_durations() -> None:
    assert [parse_duration(v) for v in ("90s", "10m", "2h", "1d", 30)] == [90, 600, 7200, 86400, 30]
    config = build_config({"sources": [SOURCE]}, {})
    assert config.sources[0].interval == 600


def test_environment_overrides_any_key() -> None:
    config = build_config(
        {"storage": {"url": "sqlite:///a.db"}},
        {
            "CRACKDOWN_STORAGE__URL": "sqlite:///b.db",
            "CRACKDOWN_TELEGRAM__ADMIN_IDS": "[1, 2]",
            "CRACKDOWN_DELIVERY__INTERVAL": "2s",
            "UNRELATED": "x",
        },
    )
    assert config.storage.url == "sqlite:///b.db"
    assert config.telegram.admin_ids == [1, 2]
    assert config.delivery.interval == 2


def test_environment_override_errors_are_clear() -> None:
    assert "storage.nope: unknown key" in error_of({}, {"CRACKDOWN_STORAGE__NOPE": "1"})


def test_token_from_environment_is_kept_secret() -> None:
    config = build_config({}, {"CRACKDOWN_TELEGRAM_TOKEN": "123:SECRET"})
    assert config.bot_token() == "123:SECRET"
    assert "SECRET" not in repr(config) and "SECRET" not in str(config.model_dump())


def test_token_from_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("555:FROMFILE\n")
    config = build_config({"telegram": {"token_file": str(token_file)}}, {})
    assert config.bot_token() == "555:FROMFILE"


def test_token_in_environment_as_a_key_is_refused() -> None:
    assert "never read from the config file" in error_of({}, {"CRACKDOWN_TELEGRAM__TOKEN": "1:x"})


def test_unreadable_token_file_names_the_key(tmp_path: Path) -> None:
    assert "telegram.token_file: cannot read" in error_of(
        {"telegram": {"token_file": str(tmp_path / "none")}}
    )


def test_resolution_order(tmp_path: Path) -> None:
    assert resolve_path("a.toml", {"CRACKDOWN_CONFIG": "b.toml"}) == Path("a.toml")
    assert resolve_path(None, {"CRACKDOWN_CONFIG": "b.toml"}) == Path("b.toml")
    assert resolve_path(None, {}) == Path("config.toml")


def test_malformed_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[storage\nurl = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, {})


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config.example.toml"
    config = load_config(example, {})
    assert config.sources, "the example should show at least one source"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such config file"),
        ("[storage\n", "not valid TOML"),
        ("[[sources]]\nkey = 'x'\nurl = 'nope'\n", "sources[0].url: not a URL"),
        (
            "[watchlist]\n[[watchlist.topics]]\nkey = 't'\nrule = 'crypto AND'\n",
            "watchlist: topic 't': rule ends too early",
        ),
    ],
)
def test_cli_reports_config_errors_in_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "config.toml"
    if content is not None:
        path.write_text(content)
    environ = {"CRACKDOWN_STORAGE__URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert main(["--config", str(path), "run", "--once"], environ) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_commented_watchlist_example_is_valid() -> None:
    """The example entity and topic in config.example.toml work when uncommented."""
    import tomllib

    from crackdown.app import load_watchlist

    text = (Path(__file__).parents[2] / "config.example.toml").read_text("utf-8")
    block = text[text.index("# [[watchlist.entities]]") : text.index("# Sources:")]
    lines = [line[2:] if line.startswith("# ") else "" for line in block.splitlines()]
    config = build_config(tomllib.loads("\n".join(lines)), {})
    watchlist, _matcher = load_watchlist(config)
    assert watchlist.entity("justin-sun") is not None
    assert "exchanges" in {topic.key for topic in watchlist.topics}
