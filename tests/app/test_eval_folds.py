"""`crackdown eval --split`: folds by event, and wrong decisions sorted by cause."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.commands.folds import HELD_OUT, assign_folds, event_groups


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    text: str


def _items() -> list[Item]:
    return [
        Item("a1", "SFC warns of fake HSKEX exchange", "The fake HSKEX site copies the logo."),
        Item("a2", "Regulator flags HSKEX impersonation", "HSKEX site copies logo, SFC says."),
        Item("b1", "Turkey bans crypto payments", "The central bank of Turkey acted."),
        Item("c1", "银保监会提示防范元宇宙非法集资", "以元宇宙名义非法集资"),
        Item("c2", "中国银保监会警告元宇宙非法集资风险", "元宇宙名义非法集资"),
        *(Item(f"x{i}", f"Unrelated story {i}", f"word{i} other{i} thing{i}") for i in range(20)),
    ]


def test_reports_of_one_event_are_grouped_and_share_a_fold() -> None:
    items = _items()
    groups = [sorted(items[i].id for i in g) for g in event_groups(items)]
    assert ["a1", "a2"] in groups and ["c1", "c2"] in groups and ["b1"] in groups
    folds = assign_folds(items, 4)
    assert folds[0] == folds[1] and folds[3] == folds[4]


def test_the_split_does_not_depend_on_order() -> None:
    items = _items()
    forward = dict(zip((i.id for i in items), assign_folds(items, 4), strict=True))
    backward_items = list(reversed(items))
    backward = dict(
        zip((i.id for i in backward_items), assign_folds(backward_items, 4), strict=True)
    )
    assert forward == backward
    assert HELD_OUT in forward.values() and len(set(forward.values())) > 1


def _line(id_: str, title: str, label: int, lang: str = "en") -> str:
    record = {"id": id_, "lang": lang, "title": title, "text": "", "label": label}
    return json.dumps(record, ensure_ascii=False)


def test_eval_splits_cover_the_corpus_and_sort_errors_by_class(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "c.jsonl"
    lines = [
        _line("tw", "Taiwan police arrest bitcoin fraud gang in Taipei", 0),
        _line("lic", "Hong Kong SFC grants licence to bitcoin exchange", 0),
        _line("miss", "Crypto fans meet in Beijing", 1),
    ]
    lines += [_line(f"n{i}", f"Story number{i} about cats{i}", 0) for i in range(12)]
    corpus.write_text("\n".join(lines) + "\n")
    sizes = []
    for split in ("tune", "held-out"):
        code = main(["eval", str(corpus), "--split", split, "--json"], {})
        result = json.loads(capsys.readouterr().out)
        assert code == 0
        sizes.append(result["examples"])
    assert sum(sizes) == len(lines)
    main(["eval", str(corpus), "--json"], {})
    classes = json.loads(capsys.readouterr().out)["error_classes"]
    assert classes.get("missing action") == ["miss"]
    assert "tw" not in classes.get("other", []) and "lic" not in classes.get("other", [])
