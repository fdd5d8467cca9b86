"""Items as a store holds them, and an HTML well-formedness checker, for the quality tests."""

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"
CANARY = "<script>alert(1)</script>"


def item(
    lead_id: str,
    original: str | None,
    normalized: str | None,
    *,
    field: str = "ciudad",
    source: str = "rules",
    flags: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        field: original,
        "normalizedData": {field: normalized},
        "normalizationMeta": {
            "source": {field: source},
            "flags": {field: list(flags)} if flags else {},
        },
    }


def items(changed: int, unchanged: int, *, field: str = "ciudad") -> list[dict[str, Any]]:
    rows = [item(f"c{i}", f"bogota {i}", f"Bogotá {i}", field=field) for i in range(changed)]
    rows += [item(f"u{i}", f"Cali {i}", f"Cali {i}", field=field) for i in range(unchanged)]
    return rows


class Checker(HTMLParser):
    """Collects tags and checks that every non-void element is closed in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "rect", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    return checker
