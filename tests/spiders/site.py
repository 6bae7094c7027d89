"""A regulator's and a news site's pages on a loopback site, with every way a crawl goes wrong.

/gbk/     a GB2312 notice list (the saved page, charset only in its <meta>), paged by
          createPageHTML into index_1.html (generated, GBK) and index_2.html (beyond
          max_pages): a GBK notice with the charset in the header and attachments, a
          GBK notice with no charset anywhere, a UTF-8 notice with none, a 500, a 404,
          a link robots.txt forbids, a page that never answers, a page too big
/utf8/    a UTF-8 list for the generic spider (selectors from config), a 下一页 link
/policy/  the saved news section (English), its lead article, a second page
/private/ a list robots.txt forbids (a source may opt out with robots = false)
/hang/    a list page that never answers
"""

from __future__ import annotations

import threading
from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page, Responder

DATA = Path(__file__).resolve().parents[1] / "data" / "spiders"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
BIG = 600_000  # bytes: over the max_bytes the tests configure

MATCHING_TITLE = "中国人民银行：坚决打击虚拟货币非法集资活动"
MATCHING_BODY = (
    "中国人民银行有关负责人表示，近期一些不法分子以虚拟货币、区块链名义进行非法集资，"
    "严重扰乱金融秩序。人民银行将会同有关部门依法严厉打击，取缔相关非法金融活动。"
)


def html(title: str, body: str, *, charset: str | None = "utf-8", extra: str = "") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!doctype html><html><head>{meta}<title>{title}</title></head><body>"
        f'<div class="nav"><a href="/">首页</a></div><div class="article"><h1>{title}</h1>'
        f"<p>{body}</p><p>{body}</p>{extra}</div></body></html>"
    )


def notice_list(rows: list[tuple[str, str, str]], page: int, count: int) -> str:
    """A TRS-style list page: (href, title, date) rows and the createPageHTML pager."""
    items = "".join(
        f'<li><span class="date">{date}</span><a href="{href}" title="{title}">{title}</a></li>'
        for href, title, date in rows
    )
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        f'<title>通知公告</title></head><body><ul class="nav"><li><a href="/">首页</a></li></ul>'
        f'<ul class="list">{items}</ul><div class="page"><script>'
        f'createPageHTML({count}, {page}, "index", "html");</script></div></body></html>'
    )


def utf8_list(rows: list[tuple[str, str, str]], next_href: str | None) -> str:
    items = "".join(
        f'<li><a href="{href}">{title}</a><span>{date}</span></li>' for href, title, date in rows
    )
    following = f'<a class="next" href="{next_href}">下一页</a>' if next_href else ""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>工作动态</title></head><body>'
        f'<ul class="news">{items}</ul><div class="pager">{following}</div></body></html>'
    )


class SpiderSite:
    """The loopback site and what the tests check against it."""

    def __init__(self) -> None:
        self.release = threading.Event()  # set at the end: the hanging page finally answers
        self.site = LoopbackSite(self._pages())
        # A client that hangs up on purpose (too big, timed out) is not the server's error.
        self.site._server.handle_error = lambda *_: None  # type: ignore[method-assign]

    def _hang(self, _path: str) -> Page:
        self.release.wait(60)
        return Page(b"<html><body>too late</body></html>", "text/html")

    def _pages(self) -> dict[str, Page | Responder]:
        gbk = "text/html"  # no charset in the header: the <meta> (or nothing) must do
        page2 = [
            ("./202104/t20210420_4012.html", "关于开展防范非法集资宣传月活动的通知", "2021-04-20"),
            ("./202104/t20210410_4010.html", "2021年一季度金融统计数据报告", "2021-04-10"),
            ("/private/notice.html", "内部通知：关于调整办公时间的通知", "2021-04-08"),
            ("./202104/t20210401_4003.html", "关于征求意见的公告（系统维护中）", "2021-04-01"),
            ("./202103/t20210315_3990.html", "2020年度金融机构统计年报全文", "2021-03-15"),
        ]
        pages: dict[str, Page | Responder] = {
            "/robots.txt": Page(ROBOTS, "text/plain"),
            "/hang/index.html": self._hang,  # a list page that never answers
            "/gbk/index.html": Page((DATA / "notice_list_gbk.html").read_bytes(), gbk),
            "/gbk/index_1.html": Page(notice_list(page2, 1, 3).encode("gbk"), gbk),
            "/gbk/index_2.html": Page(notice_list([], 2, 3).encode("gbk"), gbk),
            "/gbk/202109/t20210924_4101.html": Page(
                (DATA / "notice_gbk.html").read_bytes(), "text/html; charset=GBK"
            ),
            "/gbk/202109/t20210915_4096.html": Page(
                html(
                    "关于开展2021年金融知识普及月活动的通知",
                    "各金融机构：请认真组织。",
                    charset=None,
                ).encode("utf-8"),
                "text/html",
            ),
            "/gbk/202104/t20210420_4012.html": Page(
                html(
                    "关于开展防范非法集资宣传月活动的通知", "各单位要广泛宣传。", charset=None
                ).encode("gbk"),
                "text/html",
            ),
            "/gbk/202104/t20210410_4010.html": Page(b"upstream exploded", "text/plain", 500),
            "/gbk/202104/t20210401_4003.html": self._hang,
            "/gbk/202103/t20210315_3990.html": Page(
                html("年报", "数据" * (BIG // 6)).encode("utf-8"), "text/html"
            ),
            "/private/notice.html": Page(html("内部通知", "不应抓取").encode("utf-8"), "text/html"),
            "/private/list.html": Page(
                utf8_list(
                    [("/private/notice.html", "内部通知：关于调整办公时间的通知", "2021-04-08")],
                    None,
                ).encode("utf-8"),
                "text/html; charset=utf-8",
            ),
            "/utf8/index.html": Page(
                utf8_list(
                    [
                        ("a1.html", MATCHING_TITLE, "2024年06月15日"),
                        ("a2.html", "关于举办金融消费者权益保护培训的通知", "2024年06月10日"),
                    ],
                    "index_1.html",
                ).encode("utf-8"),
                "text/html; charset=utf-8",
            ),
            "/utf8/index_1.html": Page(
                utf8_list(
                    [("a3.html", "2024年5月金融运行情况", "2024年05月31日")], "index_2.html"
                ).encode("utf-8"),
                "text/html; charset=utf-8",
            ),
            "/utf8/a1.html": Page(
                html(MATCHING_TITLE, MATCHING_BODY).encode("utf-8"), "text/html; charset=utf-8"
            ),
            "/utf8/a2.html": Page(
                html("关于举办金融消费者权益保护培训的通知", "请各机构报名。", charset=None).encode(
                    "utf-8"
                ),
                "text/html",
            ),
            "/utf8/a3.html": Page(
                html("2024年5月金融运行情况", "贷款平稳增长。").encode("utf-8"), "text/html"
            ),
            "/policy/": Page((DATA / "news_section.html").read_bytes(), "text/html; charset=utf-8"),
            "/policy/page/2/": Page(
                (DATA / "news_section.html")
                .read_bytes()
                .replace(b'<link rel="next" href="/policy/page/2/">', b"")
                .replace(b'class="next" href="/policy/page/2/"', b'class="prev" href="/policy/"')
                .replace(b"2024/06/13/guangzhou", b"2024/06/12/guangzhou-older"),
                "text/html; charset=utf-8",
            ),
            "/policy/2024/06/15/pboc-warns-banks-over-usdt-otc-settlement/": Page(
                (DATA / "news_article.html").read_bytes(), "text/html; charset=utf-8"
            ),
        }
        return pages

    def requested(self, path: str) -> int:
        """How many times a path was asked for (any query string)."""
        return sum(1 for asked, _headers in self.site.requests if asked.split("?")[0] == path)

    def __enter__(self) -> SpiderSite:
        self.site.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.site.stop()
