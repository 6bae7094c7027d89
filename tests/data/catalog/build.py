# ruff: noqa: E501  (fixture markup reads better on one line)
"""Rebuild the catalogue fixtures: `python tests/data/catalog/build.py`.

One folder per catalogue entry, one file per response, named by the last
segment of the URL path it answers (`tests/app/catalog_site.py` serves
them so). Each has the structure of the source's real response as public
code describes it (../shared/SOURCES.md): the JSON shapes of the CSRC's
searchList, the NFRA's static JSON, the Jinse, Odaily and PANews flash
APIs and ChainCatcher's HTML fragments; the list markup of the CAC, NDRC
and TRS notice lists; RSS for the feeds; the PBoC's WZWS challenge page\n(challenge.html) in front of the PBoC's and MPS's lists.
The words are invented; the shapes are the point.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAYS = ["2026-01-05", "2026-01-04", "2026-01-03"]
ZH = [
    (
        "关于防范以“虚拟货币”“区块链”名义进行非法集资的风险提示",
        "提醒社会公众警惕以虚拟货币名义进行的非法集资活动。",
    ),
    (
        "依法打击利用虚拟货币实施洗钱等违法犯罪活动",
        "有关部门将继续保持高压态势，严厉打击相关违法犯罪。",
    ),
    ("关于进一步防范和处置虚拟货币交易炒作风险的通知", "虚拟货币相关业务活动属于非法金融活动。"),
]
EN = [
    (
        "SFC warns public against suspicious virtual asset trading platform",
        "The SFC warns the public.",
    ),
    ("Police arrest 12 in crypto fraud syndicate", "Officers seized devices and cash."),
    ("HKMA sets out stablecoin issuer licensing regime", "The first licences are expected soon."),
]


def write(key: str, name: str, content: str | bytes) -> None:
    folder = HERE / key
    folder.mkdir(exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    (folder / name).write_bytes(data)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def rss(key: str, name: str, lang: str, link: str, guid_is_ref: bool = False) -> None:
    texts = ZH if lang == "zh" else EN
    items = []
    for i, ((title, summary), day) in enumerate(zip(texts, DAYS, strict=True)):
        y, _m, d = day.split("-")
        weekday = ("Mon", "Sun", "Sat")[i]
        date = f"{weekday}, {d} Jan {y} 0{i + 1}:30:00 +0800"
        guid = f"26PR{i + 1}" if guid_is_ref else f"{link}/{i + 1}"
        items.append(
            f"<item><title>{title}</title><link>{link}/{i + 1}</link>"
            f'<guid isPermaLink="{"false" if guid_is_ref else "true"}">{guid}</guid>'
            f"<pubDate>{date}</pubDate><description><![CDATA[<p>{summary}</p>]]></description></item>"
        )
    write(
        key,
        name,
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{key}</title><link>{link}</link><description>{key}</description>"
        f"<language>{'zh-cn' if lang == 'zh' else 'en'}</language>"
        + "".join(items)
        + "</channel></rss>\n",
    )


def article(title: str, body: str, day: str, *, body_class: str = "TRS_Editor") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="PubDate" content="{day} 10:00:00"></head><body>'
        f'<div class="header"><a href="/">首页</a></div><h1>{title}</h1>'
        f'<div class="info">发布时间：{day}</div>'
        f'<div class="{body_class}" id="zoom"><p>{body}</p><p>{body}</p><p>{body}</p></div>'
        "</body></html>"
    )


def challenge() -> str:
    """The WZWS page as RSSHub issue #4824 shows it: a script computing a cookie.

    Here the script works: it sets `wzws_cid` from `wzwsquestion` and
    `wzwsfactor` and reloads, and `tests/app/catalog_site.py` answers with the
    content once the cookie is there, so only a browser gets past it.
    """
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "</head><body><noscript>请开启JavaScript并刷新该页.</noscript>"
        '<script type="text/javascript">var dynamicurl="/L2dvdXRvbmdqaWFvbGl1LzExMzQ1Ni8xMTM0NjkvaW5kZXguaHRtbA==";'
        'var wzwsquestion="U1T@3R";var wzwsfactor="6173";var wzwsmethod="post";'
        'var wzwsparams="";function HXXTTKKLLPPP5(){var n=0;for(var i=0;i<wzwsquestion.length;i++)'
        "{n+=wzwsquestion.charCodeAt(i);}n*=parseInt(wzwsfactor,10);"
        'document.cookie="wzws_cid="+n+"; path=/";setTimeout(function(){location.reload();},50);}'
        "HXXTTKKLLPPP5();</script></body></html>"
    )


def browser_pages() -> None:
    """The PBoC's and MPS's pages behind the challenge (challenge.html): lists and articles."""
    for key in ("pboc-news", "pboc-open-market"):
        write(key, "challenge.html", challenge())
        # font.newslist_style a[title], the date in span.hui12 beside it
        rows = "".join(
            f'<tr><td><font class="newslist_style"><a href="/goutongjiaoliu/113456/113469/51{i}/2026010{5 - i}{i}.html" title="{t}">{t}</a></font></td>'
            f'<td><span class="hui12">{day}</span></td></tr>'
            for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
        )
        write(
            key,
            "index.html",
            f'<html><head><meta charset="utf-8"></head><body><table>{rows}</table></body></html>',
        )
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
            page = article(t, b, day).replace('<div class="info">', '<div id="shijian">')
            write(key, f"2026010{5 - i}{i}.html", page)
    for key, folder in (("mps-policy", "n6557558"), ("mps-interpretation", "n6557563")):
        write(key, "challenge.html", challenge())
        # .list li a, written by a script after the page has loaded (RSSHub waits for it)
        rows = "".join(
            f'<li><a href="/{folder}/c97{i}/c97{i}.html">{t}</a><span>{day}</span></li>'
            for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
        )
        fill = json.dumps(f"<ul>{rows}</ul>", ensure_ascii=False)
        write(
            key,
            "index.html",
            '<html><head><meta charset="utf-8"></head><body><div class="list"></div>'
            '<script>window.addEventListener("load",function(){setTimeout(function(){'
            f'document.querySelector(".list").innerHTML={fill};}},200);}});</script></body></html>',
        )
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
            write(key, f"c97{i}.html", article(t, b, day, body_class="pages_content"))


def mainland_spiders() -> None:
    browser_pages()
    # CAC: div#loadingInfoPage li, date in .times; links are absolute paths
    rows = "".join(
        f'<li><a href="/{day[:7]}/{day[8:]}/c_17{i}.htm" target="_blank">{t}</a>'
        f'<div class="times">{day}</div></li>'
        for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
    )
    write(
        "cac-releases",
        "A093702index_1.htm",
        f'<html><head><meta charset="utf-8"></head><body><div id="loadingInfoPage"><ul>{rows}</ul></div></body></html>',
    )
    for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
        write("cac-releases", f"c_17{i}.htm", article(t, b, day, body_class="main-content"))
    # NDRC: .u-list li a, date in meta PubDate on the article
    rows = "".join(
        f'<li><a href="./202601/t2026010{5 - i}_139{i}.html" title="{t}">{t}</a><span>{day}</span></li>'
        for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
    )
    write(
        "ndrc-news",
        "index.html",
        f'<html><head><meta charset="utf-8"></head><body><ul class="u-list">{rows}</ul></body></html>',
    )
    for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
        write("ndrc-news", f"t2026010{5 - i}_139{i}.html", article(t, b, day))
    # TRS notice lists (gov-notices): dated rows, title attributes, createPageHTML paging
    for key, index in (
        ("safe-news", "index.html"),
        ("spp-releases", "index.shtml"),
        ("spp-guiding-cases", "index.shtml"),
        ("spc-releases", "16.html"),
        ("spc-news", "104.html"),
        ("chinacourt-news", "index.shtml"),
    ):
        rows = "".join(
            f'<li><a href="./202601/t2026010{5 - i}_{i}.shtml" title="{t}">{t[:12]}…</a>'
            f"<span>{day}</span></li>"
            for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
        )
        write(
            key,
            index,
            '<html><head><meta charset="utf-8"></head><body><div class="list"><ul>'
            f'{rows}</ul></div><script>createPageHTML(1, 0, "index", "shtml");</script></body></html>',
        )
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
            write(key, f"t2026010{5 - i}_{i}.shtml", article(t, b, day))


def pboc_research() -> None:
    for key in ("pboc-policy-research", "pboc-working-papers"):
        rows = "".join(
            f'<li class="clearfix"><a href="/redianzhuanti/118742/4122386/{i}/index.html" '
            f'title="{t}">{t[:14]}</a><span class="fr">{day}</span></li>'
            for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
        )
        write(
            key,
            "index.html",
            f'<html><head><meta charset="utf-8"></head><body><ul class="list">{rows}</ul></body></html>',
        )


def csrc() -> None:
    for key, chan, page, channel_id in (
        ("csrc-news", "c100028", "common_xq_list.shtml", "ad5b1d4e1bd94ca3b0e26a2ed7a0cd15"),
        ("csrc-penalties", "c101971", "zfxxgk_zdgk.shtml", "3d5d6cf5a8b64e4e9c55ef1e4d4a7e10"),
        ("csrc-market-bans", "c101972", "zfxxgk_zdgk.shtml", "a1c0f1e2b3d44f5c8e9a0b1c2d3e4f50"),
        ("csrc-measures", "c105955", "zfxxgk_zdgk.shtml", "0f9e8d7c6b5a49382716a5b4c3d2e1f0"),
    ):
        write(
            key,
            page,
            f'<html><head><meta charset="utf-8"><meta name="channelid" content="{channel_id}">'
            f'<meta name="column" content="{chan}"></head><body><div id="list"></div></body></html>',
        )
        results = [
            {
                "title": t,
                "subTitle": "",
                "url": f"http://www.csrc.gov.cn/csrc/{chan}/c74{i}/content.shtml",
                "publishedTime": 0,
                "publishedTimeStr": f"{day} 17:0{i}:00",
                "memo": b,
                "contentHtml": f"<p>{b}</p><p>{b}</p>",
                "manuscriptId": f"c74{i}",
                "channelName": "要闻",
            }
            for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True))
        ]
        write(
            key,
            channel_id,
            dumps(
                {
                    "code": 200,
                    "msg": "success",
                    "data": {"total": 3, "page": 1, "rows": 18, "results": results},
                }
            ),
        )


def nfra() -> None:
    for key, item in (
        ("nfra-news", 915),
        ("nfra-notices", 925),
        ("nfra-penalties", 931),
        ("nfra-measures", 932),
        ("nfra-illegal-fundraising", 963),
    ):
        rows = [
            {
                "docId": 1180000 + i,
                "docTitle": t,
                "docSubtitle": "",
                "publishDate": f"{day} 18:00:00",
                "docFileUrl": "",
                "itemId": item,
                "builddate": f"{day} 18:00:00",
            }
            for i, ((t, _), day) in enumerate(zip(ZH, DAYS, strict=True))
        ]
        write(
            key,
            f"data_itemId={item},pageIndex=1,pageSize=18.json",
            dumps({"rptCode": 200, "msg": "成功", "data": {"total": 3, "rows": rows}}),
        )
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True)):
            write(
                key,
                f"data_docId={1180000 + i}.json",
                dumps(
                    {
                        "rptCode": 200,
                        "msg": "成功",
                        "data": {
                            "docId": 1180000 + i,
                            "docTitle": t,
                            "publishDate": f"{day} 18:00:00",
                            "docClob": f'<div class="Section0"><p>{b}</p><p>{b}</p></div>',
                        },
                    }
                ),
            )


def media_json() -> None:
    lives = [
        {
            "id": 4750000 + i,
            "content": f"【{t}】金色财经报道，{b}",
            "content_prefix": t if i else "",
            "link": "",
            "created_at": 1767600000 - i * 3600,
            "grade": 4,
            "sort": "",
            "category": 2,
        }
        for i, (t, b) in enumerate(ZH)
    ]
    write(
        "jinse-policy-lives",
        "lives",
        dumps(
            {
                "news": 3,
                "count": 3,
                "total": 3,
                "top_id": 4750000,
                "bottom_id": 4750002,
                "list": [
                    {"date": "2026-01-05", "lives": lives[:2]},
                    {"date": "2026-01-04", "lives": lives[2:]},
                ],
            }
        ),
    )
    items = [
        {
            "id": 460000 + i,
            "title": t,
            "description": b,
            "news_url": "",
            "published_at": f"{day} 1{i}:20:00",
            "is_top": False,
            "images": [],
        }
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True))
    ]
    write(
        "odaily-flash",
        "newsflashes",
        dumps({"code": 0, "data": {"items": items, "last_id": 460002}}),
    )
    flash = [
        {
            "id": f"{i}Zx9k{i}",
            "title": t,
            "desc": b,
            "publishTime": 1767600000 - i * 7200,
            "type": 2,
        }
        for i, (t, b) in enumerate(ZH)
    ]
    write(
        "panews-flash",
        "flashnews",
        dumps(
            {
                "code": 0,
                "msg": "success",
                "data": {
                    "flashNews": [
                        {"date": "2026-01-05", "list": flash[:2]},
                        {"date": "2026-01-04", "list": flash[2:]},
                    ]
                },
            }
        ),
    )
    blocks = "".join(
        f'<div class="block"><div class="title"><a href="/article/21{i}0">{t}</a></div>'
        f'<div class="summary">{b}</div><div class="info"><span class="time">{day} 09:1{i}</span></div></div>'
        for i, ((t, b), day) in enumerate(zip(ZH, DAYS, strict=True))
    )
    write("chaincatcher", "lists", dumps({"result": 1, "message": "", "data": blocks}))


def feeds() -> None:
    rss(
        "sfc-press",
        "Press-releases",
        "en",
        "https://apps.sfc.hk/edistributionWeb/gateway/EN/news-and-announcements/news/doc",
        True,
    )
    rss(
        "sfc-circulars",
        "Circulars",
        "en",
        "https://apps.sfc.hk/edistributionWeb/gateway/EN/circular/doc",
        True,
    )
    rss(
        "sfc-consultations",
        "Consultations-and-Conclusions",
        "en",
        "https://apps.sfc.hk/edistributionWeb/gateway/EN/consultation/doc",
        True,
    )
    rss(
        "hkma-press",
        "rss_press-release.xml",
        "en",
        "https://www.hkma.gov.hk/eng/news-and-media/press-releases/2026/01",
    )
    rss(
        "hkma-press-zh",
        "rss_press-release.xml",
        "zh",
        "https://www.hkma.gov.hk/gb_chi/news-and-media/press-releases/2026/01",
    )
    rss(
        "hkma-circulars",
        "rss_circulars.xml",
        "en",
        "https://www.hkma.gov.hk/eng/regulatory-resources/regulatory-guides/circulars",
    )
    rss("hk-gov-news", "general_en.xml", "en", "https://www.info.gov.hk/gia/general/202601")
    rss("hk-news-finance", "articlelist.rss.xml", "en", "https://www.news.gov.hk/eng/2026/01")
    rss(
        "rthk-finance",
        "c_expressnews_cfinance.xml",
        "zh",
        "https://news.rthk.hk/rthk/ch/component/k2",
    )
    rss("blockbeats", "home-xml", "zh", "https://www.theblockbeats.info/news")
    rss("wu-blockchain", "feed", "en", "https://wublockchain123.substack.com/p")
    rss("coindesk", "index.html", "en", "https://www.coindesk.com/policy/2026/01/05")
    rss("cointelegraph", "rss", "en", "https://cointelegraph.com/news")
    rss("cointelegraph-cn", "rss", "zh", "https://cn.cointelegraph.com/news")
    rss("decrypt", "feed", "en", "https://decrypt.co/3500")
    rss("theblock", "rss.xml", "en", "https://www.theblock.co/post/38000")
    for key in ("scmp-china", "scmp-hk", "scmp-business"):
        rss(key, "feed", "en", "https://www.scmp.com/news/china/article/33000")


if __name__ == "__main__":
    mainland_spiders()
    pboc_research()
    csrc()
    nfra()
    media_json()
    feeds()
