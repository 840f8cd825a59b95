"""Tests of cmb_kd.evaluation.doc_markers: the text between the results markers replaced, bad markers refused."""

from __future__ import annotations

import pytest
from _test_files import RESULTS_DOC as DOC

from cmb_kd.evaluation import replace_between_markers


def test_replace_between_markers_keeps_the_rest_and_is_idempotent() -> None:
    once = replace_between_markers(DOC, "table", "| a |\n|---|", source="doc.md")
    assert "old main table" not in once
    assert "<!-- results:table:start -->\n| a |\n|---|\n<!-- results:table:end -->" in once
    assert once.startswith("# Results\n\nIntro.\n\n") and once.endswith("Between.\n\n" + DOC.split("Between.\n\n")[1])
    assert replace_between_markers(once, "table", "| a |\n|---|", source="doc.md") == once
    both = replace_between_markers(once, "ablation", "x", source="doc.md")
    assert "<!-- results:ablation:start -->\nx\n<!-- results:ablation:end -->\nOutro.\n" in both


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("no markers", r"notes\.md: marker <!-- results:table:start --> missing"),
        ("<!-- results:table:start -->\n", r"notes\.md: marker <!-- results:table:end --> missing"),
        ("<!-- results:table:end --><!-- results:table:start -->", "comes before"),
        ("<!-- results:table:start -->" * 2 + "<!-- results:table:end -->", "found 2 times"),
    ],
)
def test_replace_between_markers_bad_markers(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        replace_between_markers(text, "table", "x", source="notes.md")
