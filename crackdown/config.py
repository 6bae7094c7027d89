"""Configuration: TOML, validated once at start, then passed down.

Resolution: `--config PATH`, else `$CRACKDOWN_CONFIG`, else `./config.toml`.
Any key can be overridden from the environment as
`CRACKDOWN_<SECTION>__<KEY>` (double underscore between levels), e.g.
`CRACKDOWN_STORAGE__URL`. The bot token is never read from TOML: it comes
from `CRACKDOWN_TELEGRAM_TOKEN` or the file named by `telegram.token_file`
(or `CRACKDOWN_TELEGRAM_TOKEN_FILE`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from crawler.jsonapi import ApiSpec

ENV_PREFIX = "CRACKDOWN_"
# Kinds the feed poller reads (one request per poll); spiders are crawled
# (crackdown.runtime.crawling).
POLLED_KINDS = ("feed", "json")
TOKEN_ENV = "CRACKDOWN_TELEGRAM_TOKEN"
TOKEN_FILE_ENV = "CRACKDOWN_TELEGRAM_TOKEN_FILE"
_RESERVED_ENV = {"CRACKDOWN_CONFIG", TOKEN_ENV, TOKEN_FILE_ENV}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_TOPIC = "china-crypto-enforcement"


class ConfigError(Exception):
    """A config that cannot be used; the message names the key path."""


def parse_duration(value: str | int | float) -> float:
    """'20ms', '90s', '1.5m', '2h', '1d' or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 20ms, 90s, 10m, 2h, 1d)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be positive")
    return seconds


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("not a URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    url: str = "sqlite:///crackdown.db"


class ChannelConfig(_Section):
    """A channel the operator attaches: it gets alerts for what config says, not commands."""

    chat_id: int = Field(lt=0)
    name: str | None = None
    topics: list[str] = []
    entities: list[str] = []
    queries: list[str] = []
    lang: Literal["en", "zh"] = "en"
    timezone: str = "UTC"
    digest: str = "off"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use Area/City, e.g. Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("digest")
    @classmethod
    def _digest_spec(cls, value: str) -> str:
        if not re.fullmatch(r"off|hourly|daily ([01]?\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError('digest is "off", "hourly" or "daily HH:MM"')
        return value.strip()

    @model_validator(mode="after")
    def _follows_something(self) -> ChannelConfig:
        if not (self.topics or self.entities or self.queries):
            raise ValueError("a channel needs topics, entities or queries to follow")
        return self


class TelegramConfig(_Section):
    api_base_url: HttpUrl = "https://api.telegram.org/bot"
    admin_ids: list[int] = []
    ops_chat_id: int | None = None
    token_file: Path | None = None
    default_topic: str = DEFAULT_TOPIC
    link_previews: bool = False
    poll_timeout: Duration = 30.0
    max_watches: int = Field(default=10, gt=0, le=100)
    max_query_length: int = Field(default=200, ge=20, le=1000)
    commands_per_minute: int = Field(default=20, gt=0)
    channels: list[ChannelConfig] = []
    # With several daemons on one PostgreSQL database, one reads commands; the others
    # check this often whether it is gone, and take over.
    leader_retry: Duration = 15.0
    token: SecretStr | None = None


class HttpConfig(_Section):
    user_agent: str = "crackdown/0.1 (+https://github.com/crackdown-news/crackdown)"
    connect_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    deadline: Duration = 60.0  # one whole fetch: connect, headers and body
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    concurrency: int = Field(default=8, gt=0)
    allow_private_networks: bool = False  # else only a source's own configured host may be
    # An http(s) proxy for every fetch (spiders too); unset: HTTPS_PROXY, NO_PROXY etc.
    proxy: Annotated[str | None, AfterValidator(_proxy)] = None


class PollingConfig(_Section):
    tick: Duration = 30.0
    min_interval: Duration = 300.0
    max_interval: Duration = 86400.0
    backoff_max: Duration = 6 * 3600.0
    adaptive: bool = True
    jitter: float = Field(default=0.1, ge=0, le=1)
    per_host: int = Field(default=2, gt=0)
    full_text_per_poll: int = Field(default=20, ge=0)
    notify_after: int = Field(default=5, ge=0)


class DeliveryConfig(_Section):
    interval: Duration = 5.0
    batch_size: int = Field(default=50, gt=0, le=1000)
    concurrency: int = Field(default=8, gt=0, le=100)
    max_attempts: int = Field(default=8, gt=0)
    lease: Duration = 120.0
    timeout: Duration = 20.0
    base_backoff: Duration = 5.0
    max_backoff: Duration = 3600.0
    deactivate_after: int = Field(default=5, gt=0)
    global_rate: float = Field(default=30.0, gt=0)
    private_rate: float = Field(default=1.0, gt=0)
    group_rate: float = Field(default=20.0, gt=0)
    rate_margin: Duration = 0.0
    shutdown_grace: Duration = 10.0


def _proxy(value: str | None) -> str | None:
    from crawler.proxies import check_proxy_url

    return None if value is None else check_proxy_url(value)


def _selector(value: str | None) -> str | None:
    from crawler.spiders.selectors import check_selector  # parsel and lxml: only when used

    return None if value is None else check_selector(value)


def _host(value: str) -> str:
    host = value.strip().lower()
    if not re.fullmatch(r"[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)*", host):
        raise ValueError(f"{value!r} is not a host name (e.g. pbc.gov.cn, no scheme or path)")
    return host


def _delay(value: str | int | float) -> float:
    return 0.0 if value in (0, "0", "0s", "0ms") else parse_duration(value)


CssOrXPath = Annotated[str | None, AfterValidator(_selector)]
# Keys only a spider reads (kind = "spider"); see README "Spiders".
SPIDER_KEYS = (
    "spider",
    "urls",
    "links",
    "title",
    "date",
    "next_page",
    "max_pages",
    "max_articles",
    "allowed_domains",
    "robots",
    "render",
    "article_title",
    "article_body",
    "article_date",
)
RENDER_HINT = (
    'render = "browser" is the only choice: the page is rendered in Chromium with '
    "scrapy-playwright (pip install 'crackdown[browser]'; Debian's chromium)"
)


def _path(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[^\s{}]*", value):
        raise ValueError(f"{value!r} is not a dotted path (e.g. data.results or list.*.lives)")
    return value


def _template(value: str | None) -> str | None:
    if value is not None and not re.match(r"^(https?://|/|\.|[^{]*\{)", value):
        raise ValueError(f"{value!r} is not a URL template (e.g. https://host/{{id}}.html)")
    return value


class JsonApiConfig(_Section):
    """`[sources.api]` of a kind = "json" source: the request, and where each field is.

    Field specs are dotted paths into each item (`a|b`: the first that is
    not empty), or selectors inside each item when `html_items` is set.
    """

    method: Literal["GET", "POST"] = "GET"
    form: dict[str, str | int] = {}
    json_body: dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = {}
    items: Annotated[str, AfterValidator(_path)] = ""
    html_items: CssOrXPath = None
    title: str
    link: str | None = None
    link_template: Annotated[str | None, AfterValidator(_template)] = None
    date: str | None = None
    summary: str | None = None
    body: str | None = None
    discover_url: HttpUrl | None = None
    discover: CssOrXPath = None
    detail_url: Annotated[str | None, AfterValidator(_template)] = None
    detail_body: Annotated[str | None, AfterValidator(_path)] = None

    @model_validator(mode="after")
    def _consistent(self) -> JsonApiConfig:
        if self.method == "GET" and (self.form or self.json_body is not None):
            raise ValueError('form / json_body: only with method = "POST"')
        if self.form and self.json_body is not None:
            raise ValueError("form and json_body: a POST sends one or the other")
        if not (self.link or self.link_template):
            raise ValueError("link or link_template: one is required (the item's URL)")
        if bool(self.discover_url) != bool(self.discover):
            raise ValueError("discover_url and discover: both or neither")
        if self.detail_body and not self.detail_url:
            raise ValueError("detail_body: needs detail_url")
        specs = [self.title, self.link, self.date, self.summary, self.body]
        for spec in [s for s in specs if s]:
            for part in spec.split("|"):
                if self.html_items:
                    _selector(part.strip())
                else:
                    _path(part.strip())
        return self

    def spec(self) -> ApiSpec:
        from crawler.jsonapi import ApiSpec

        data = self.model_dump()
        data["form"] = {k: str(v) for k, v in self.form.items()}
        return ApiSpec(**data)


class SourceConfig(_Section):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,99}$")
    name: str | None = Field(default=None, min_length=1, max_length=100)  # shown to readers
    kind: Literal["feed", "spider", "json"] = "feed"
    url: HttpUrl  # a feed's URL; a spider's first start URL (`urls` may list more)
    interval: Duration = 600.0
    lang: Literal["en", "zh"] | None = None
    enabled: bool = True
    full_text: bool = False
    # kind = "spider" (crawler.spiders): selectors are CSS, or XPath when they start with / or (
    spider: Literal["listing", "gov-notices", "news-section"] = "listing"
    urls: list[HttpUrl] = []
    links: CssOrXPath = None
    title: CssOrXPath = None
    date: CssOrXPath = None
    next_page: CssOrXPath = None
    max_pages: int | None = Field(default=None, ge=1, le=100)
    max_articles: int | None = Field(default=None, ge=1, le=1000)
    allowed_domains: list[Annotated[str, AfterValidator(_host)]] = []
    robots: bool = True
    render: str | None = None  # "browser": rendered in Chromium (crawler.spiders.browser)
    article_title: CssOrXPath = None
    article_body: CssOrXPath = None
    article_date: CssOrXPath = None
    # kind = "json" (crawler.jsonapi): the request and the fields
    api: JsonApiConfig | None = None

    @property
    def configured_urls(self) -> list[str]:
        """Every URL the operator gave for this source: its hosts may be private ones."""
        urls = [str(self.url), *map(str, self.urls)]
        if self.api is not None:
            urls += [str(u) for u in (self.api.discover_url, self.api.detail_url) if u]
        return urls

    @model_validator(mode="before")
    @classmethod
    def _first_url(cls, data: Any) -> Any:
        """A spider may give only `urls`: the first is its `url`."""
        if isinstance(data, dict) and "url" not in data and data.get("urls"):
            first = data["urls"][0] if isinstance(data["urls"], list) else None
            if isinstance(first, str):
                return {**data, "url": first}
        return data

    @model_validator(mode="after")
    def _spider_keys(self) -> SourceConfig:
        if self.render not in (None, "browser"):
            raise ValueError(f"render: {self.render!r} is not supported; {RENDER_HINT}")
        if (self.kind == "json") != (self.api is not None):
            raise ValueError('api: required for kind = "json", and only for it')
        if self.kind == "json":
            extra = [k for k in SPIDER_KEYS if k in self.model_fields_set]
            if extra:
                raise ValueError(f'{extra[0]}: only for kind = "spider"')
            return self
        if self.kind == "feed":
            extra = [k for k in SPIDER_KEYS if k in self.model_fields_set]
            if extra:
                raise ValueError(f'{extra[0]}: only for kind = "spider"')
            return self
        if self.full_text:
            raise ValueError('full_text: only for kind = "feed" (spiders always read the page)')
        if self.spider == "listing" and not self.links:
            raise ValueError(
                'links: required for spider = "listing" (a CSS selector of the article links, '
                'e.g. "ul.list a"; or spider = "gov-notices" / "news-section" find them)'
            )
        return self

    def start_urls(self) -> list[str]:
        """A spider's start URLs: `url`, then `urls`, each once."""
        return list(dict.fromkeys([self.url, *self.urls]))


class CrawlConfig(_Section):
    """Spiders (kind = "spider"): politeness, limits, and how the daemon runs them."""

    tick: Duration = 60.0  # how often the daemon looks for spider sources that are due
    delay: Annotated[float, BeforeValidator(_delay)] = 1.0  # "0" allowed: AutoThrottle alone
    per_domain: int = Field(default=2, ge=1, le=2)
    timeout: Duration = 30.0
    retries: int = Field(default=1, ge=0, le=5)
    max_pages: int = Field(default=5, ge=1, le=100)
    max_articles: int = Field(default=50, ge=1, le=1000)
    max_delay: Duration = 60.0
    batch_size: int = Field(default=8, ge=1, le=64)
    batch_timeout: Duration = 600.0
    source_deadline: Duration = 300.0  # one source's crawl; it keeps what it found by then
    cache_dir: Path | None = None
    browser: Path = Path("/usr/bin/chromium")  # renders render = "browser" sources


class LoggingConfig(_Section):
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
    ] = "INFO"
    format: Literal["text", "json"] = "text"


def _listen_address(value: str | None) -> str | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:9464)")
    return value


class MetricsConfig(_Section):
    listen: Annotated[str | None, AfterValidator(_listen_address)] = None
    # /healthz fails when no scheduler job has finished for this long.
    stale_after: Duration = 300.0
    # /healthz also fails when the feed-polling job has not completed for this long.
    poll_stale_after: Duration = 900.0


class ClusterConfig(_Section):
    """One event, one alert: how alike and how close in time its reports are."""

    enabled: bool = True
    window: Duration = 3 * 86400.0
    threshold: float = Field(default=0.2, gt=0, le=1)
    # Categories or entity keys that name who acted: two titles naming such entities but none
    # of one family (watchlist `family`) report different events, however alike their words.
    distinct: list[str] = ["platform", "exchange", "regulator", "enforcer"]


class FilterConfig(_Section):
    """The default topic's filter: the rule, then the learned veto (crawler/learned.py)."""

    learned_veto: bool = True


class RetentionConfig(_Section):
    unmatched_days: float = Field(default=30.0, ge=0)
    ledger_days: float = Field(default=90.0, ge=0)
    interval: Duration = 6 * 3600.0


class Config(_Section):
    storage: StorageConfig = StorageConfig()
    telegram: TelegramConfig = TelegramConfig()
    http: HttpConfig = HttpConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    polling: PollingConfig = PollingConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    retention: RetentionConfig = RetentionConfig()
    cluster: ClusterConfig = ClusterConfig()
    filter: FilterConfig = FilterConfig()
    crawl: CrawlConfig = CrawlConfig()
    watchlist: dict[str, Any] = {}
    sources: list[SourceConfig] = []

    @field_validator("sources")
    @classmethod
    def _unique_keys(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.key in seen:
                raise ValueError(f"duplicate source key {source.key!r}")
            seen.add(source.key)
        return sources

    def bot_token(self) -> str | None:
        return self.telegram.token.get_secret_value() if self.telegram.token else None


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _format_error(error: Mapping[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "string_pattern_mismatch" and loc and loc[-1] == "key":
        message = "must be lower-case letters, digits, '-' or '_'"
    return f"{_key_path(loc)}: {message}"


def _env_value(raw: str) -> Any:
    """Read an override as a TOML value when it is one (5, true, [1, 2]), else a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env(document: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay `CRACKDOWN_SECTION__KEY=value` variables onto a parsed document."""
    merged: dict[str, Any] = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in document.items()
    }
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in _RESERVED_ENV:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) < 2 or not all(path):
            continue
        node = merged
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {'.'.join(path[:-1])} is not a section")
            node[part] = child = dict(child)
            node = child
        node[path[-1]] = _env_value(raw)
    return merged


def _read_token(telegram: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    token_file = environ.get(TOKEN_FILE_ENV) or telegram.get("token_file")
    if not token_file:
        return None
    path = Path(str(token_file)).expanduser()
    try:
        token = path.read_text("utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"telegram.token_file: cannot read {path}: {exc.strerror}") from exc
    if not token:
        raise ConfigError(f"telegram.token_file: {path} is empty")
    return token


def build_config(document: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Validate a parsed document plus environment into a Config."""
    merged = apply_env(dict(document), environ)
    telegram = merged.get("telegram", {})
    if isinstance(telegram, dict) and "token" in telegram:
        raise ConfigError(
            f"telegram.token: the bot token is never read from the config file; "
            f"set {TOKEN_ENV} or telegram.token_file"
        )
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        lines = [_format_error(error) for error in exc.errors()]
        raise ConfigError("; ".join(lines)) from None
    token = _read_token(telegram if isinstance(telegram, dict) else {}, environ)
    if token is None:
        return config
    new_telegram = config.telegram.model_copy(update={"token": SecretStr(token)})
    return config.model_copy(update={"telegram": new_telegram})


def resolve_path(cli_path: str | None, environ: Mapping[str, str]) -> Path:
    return Path(cli_path or environ.get("CRACKDOWN_CONFIG") or "config.toml")


def load_config(path: Path, environ: Mapping[str, str], *, required: bool = True) -> Config:
    """Read and validate the config file; a missing optional file means defaults."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"{path}: no such config file (copy config.example.toml, or pass --config)"
            ) from None
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _sqlite_beside(build_config(document, environ), path.parent)


def sqlite_relative_to(url: str, folder: Path) -> str:
    """A SQLite URL whose relative file path is taken from `folder` (other URLs unchanged).

    Why: `sqlite:///crackdown.db` read against the working folder makes
    `crackdown --config /etc/crackdown/config.toml status`, run from elsewhere,
    create and migrate an empty database instead of reading the real one.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # Database reports a malformed URL, naming storage.url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).expanduser().is_absolute():
        return url
    absolute = os.path.abspath(folder / database)
    return parsed.set(database=absolute).render_as_string(hide_password=False)


def _sqlite_beside(config: Config, folder: Path) -> Config:
    url = sqlite_relative_to(config.storage.url, folder)
    if url == config.storage.url:
        return config
    return config.model_copy(update={"storage": StorageConfig(url=url)})
