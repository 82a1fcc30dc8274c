"""The template's own documentation: the question reference is written from copier.yml, the README
is a landing page whose moved sections stay findable, and every rule has its row.

docs/questions.md is never edited by hand: tools/questions.py writes it, so a question, help text
or default changed in copier.yml fails here until the page is written again, and the failure shows
the lines that differ (the question's key among them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import QUESTIONS, TEMPLATE_ROOT, default, markdown_section, questions_tool, table_rows

README = (TEMPLATE_ROOT / "README.md").read_text()
ASKED = [key for key, spec in QUESTIONS.items() if spec.get("when") is not False]
# Where earlier releases' help texts and messages send people: "gar-template's README, 'NAME'".
POINTERS = ("copier.yml", "hooks", "template/scripts", "CHANGELOG.md")
SECTION_NAME = re.compile(r"README(?:'s|,)\s+[\"']([A-Z][^\"'\n]+)[\"']")


@pytest.fixture(scope="module")
def tool():
    return questions_tool()


def test_the_question_reference_is_what_copier_yml_gives(tool, capsys) -> None:
    code = tool.main(["--check"])
    captured = capsys.readouterr()
    assert code == 0, captured.err + captured.out


def test_a_stale_reference_fails_naming_the_command(tool, tmp_path: Path, monkeypatch, capsys) -> None:
    page = tmp_path / "questions.md"
    # The page as copier.yml gives it now, not as committed: a changed default fails only the
    # test above, which names the command and shows the default in its diff.
    current = tool.render()
    stale = f"default `{default('gcp_location')}`"
    assert current.count(stale) == 1
    page.write_text(current.replace(stale, "default `mars-north1`"))
    monkeypatch.setattr(tool, "PAGE", page)
    assert tool.main(["--check"]) == 1
    captured = capsys.readouterr()
    assert "docs/questions.md is stale: run `uv run tools/questions.py`" in captured.err
    assert "-- type str; asked always; default `mars-north1`" in captured.out, "the diff shows the line"


def test_the_reference_has_every_question_with_its_help(tool) -> None:
    page = (TEMPLATE_ROOT / "docs/questions.md").read_text()
    for key in ASKED:
        entry = markdown_section(page, f"### `{key}`")
        first_help_line = str(QUESTIONS[key]["help"]).strip().splitlines()[0]
        assert f"> {first_help_line}" in entry, key
    computed = " ".join(row["key"] for row in table_rows(markdown_section(page, "## Computed values")))
    assert all(f"`{key}`" in computed for key in QUESTIONS if key not in ASKED)


def test_the_readme_names_every_question_at_a_glance() -> None:
    glance = markdown_section(README, "## Questions at a glance")
    missing = [key for key in ASKED if f"`{key}`" not in glance]
    assert missing == [], f"README.md's 'Questions at a glance' does not name {missing}"


def test_every_rule_has_its_row_in_the_validation_page() -> None:
    """A question with a validator or choices has a row (a pair such as
    `gcp_workload_identity_pool`, `_provider` shares one)."""
    page = (TEMPLATE_ROOT / "docs/validation.md").read_text()
    validated = " ".join(row["question"] for row in table_rows(page))
    for key in ASKED:
        if "validator" in QUESTIONS[key] or "choices" in QUESTIONS[key]:
            assert f"`{key}`" in validated or f"`_{key.rsplit('_', 1)[1]}`" in validated, key


def test_the_readme_is_a_landing_page() -> None:
    assert len(README.splitlines()) <= 200


def test_every_section_a_message_points_at_is_findable() -> None:
    """A help text or message of this or an earlier release names a README section: the README says
    where it went, and that page has the section under the same name."""
    paths = [TEMPLATE_ROOT / name for name in POINTERS]
    sources = [f for path in paths for f in (sorted(path.rglob("*.py")) if path.is_dir() else [path])]
    # Python's adjacent string literals, joined: a message's pointer may span two of them.
    texts = [re.sub(r"\"\s*\n\s*f?\"", "", path.read_text()) for path in sources]
    names = {name for text in texts for name in SECTION_NAME.findall(text)}
    assert {"How a template release reaches the fleet", "Moving to a repository per package"} <= names
    rows = table_rows(markdown_section(README, "## Where the rest lives"))
    for name in names:
        [row] = [r for r in rows if f'"{name}"' in r["sections that used to be here"]] or [None]
        assert row is not None, f'README.md does not say where "{name}" went'
        page = re.search(r"\]\(([^)]+)\)", row["page"])
        assert page, row
        headings = re.findall(r"^#+ (.+)$", (TEMPLATE_ROOT / page.group(1)).read_text(), re.MULTILINE)
        assert name in headings, f'{page.group(1)} has no section "{name}"'


def test_each_decision_record_has_context_decision_and_consequences() -> None:
    records = sorted((TEMPLATE_ROOT / "docs/decisions").glob("0*.md"))
    assert len(records) >= 4
    index = (TEMPLATE_ROOT / "docs/decisions/README.md").read_text()
    for record in records:
        text = record.read_text()
        assert [h for h in re.findall(r"^## (.+)$", text, re.MULTILINE)] == ["Context", "Decision", "Consequences"]
        assert f"({record.name})" in index, f"docs/decisions/README.md does not list {record.name}"
