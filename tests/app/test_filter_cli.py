"""`crackdown match` and `crackdown eval`, run in-process through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.demo.site import LoopbackSite, Page
from tests.conftest import DATA

SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dev.jsonl"
NO_CONFIG: dict[str, str] = {}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), NO_CONFIG)
    out, err = capsys.readouterr()
    return code, out, err


def test_match_text_prints_entities_topics_and_a_marked_snippet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml: defaults
    text = (
        "The People's Bank of China said Alipay must cut off accounts used for OTC bitcoin deals."
    )
    code, out, _ = run(capsys, "match", "--text", text)
    assert code == 0
    assert "topics:   china-crypto-enforcement" in out
    assert "Alipay (alipay)" in out and "OTC (otc)" in out
    assert "[" in out and "]" in out


def test_match_json_is_machine_readable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "match", "--text", "比特币价格上涨", "--json")
    result = json.loads(out)
    assert code == 1 and result["entities"] == ["bitcoin"] and result["topics"] == []  # no topic


def test_match_url_extracts_a_gbk_article(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    html = (
        "<html><head><meta charset='gbk'><title>央行通知</title></head><body>"
        "<nav>首页 | 新闻</nav><article><h1>人民银行：严禁金融机构为虚拟货币交易提供服务</h1>"
        + "<p>中国人民银行发布通知，要求各金融机构不得为比特币等虚拟货币交易"
        "提供账户开立、清算等服务，发现相关交易应立即切断支付链路。</p>"
        * 3
        + "</article></body></html>"
    ).encode("gbk")
    with LoopbackSite({"/notice.html": Page(html, "text/html")}) as site:
        code, out, err = run(capsys, "match", "--url", site.url("/notice.html"))
    assert code == 0, err
    assert "china-crypto-enforcement" in out and "PBoC (pboc)" in out


def test_match_url_that_fails_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with LoopbackSite() as site:
        code, _, err = run(capsys, "match", "--url", site.url("/missing"))
    assert (
        code == 1
        and "config error" not in err
        and "HTTP 404" in err
        and len(err.strip().splitlines()) == 1
    )


def test_eval_json_has_the_promised_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "eval", str(DATA / "filter_challenge.jsonl"), "--json")
    result = json.loads(out)
    assert code == 0
    assert {"precision", "recall", "f1", "entity_f1", "by_lang"} <= set(result)
    assert set(result["by_lang"]) == {"en", "zh"}


def test_challenge_set_is_classified_correctly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headlines written for this test (not from the dev corpus), both directions."""
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(capsys, "eval", str(DATA / "filter_challenge.jsonl"), "--json")
    result = json.loads(out)
    assert (result["false_positives"], result["false_negatives"]) == ([], [])


@pytest.mark.skipif(
    not SHARED_CORPUS.exists(), reason="the shared development corpus is not beside the repo"
)
def test_dev_corpus_meets_the_targets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(capsys, "eval", str(SHARED_CORPUS), "--json")
    result = json.loads(out)
    for lang, scores in result["by_lang"].items():
        assert scores["f1"] >= 0.92 and scores["recall"] >= 0.95, lang


def test_eval_rejects_a_broken_corpus_with_the_line_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"id": "a", "label": 1}\n{not json\n')
    code, _, err = run(capsys, "eval", str(corpus))
    assert code == 2 and "bad.jsonl:2: not a corpus line" in err
