"""Each fact once: what copier.yml computes is built nowhere else, and the facts that the docs
repeat (the supported Pythons, Copier's conflict labels, action pins) come from one place."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import copier
import yaml
from helpers import (
    COMPUTED,
    SUPPORTED_PYTHONS,
    TEMPLATE_ROOT,
    markdown_section,
    pinned_copier,
    pinned_requirements,
    run,
)

COMPUTED_SOURCE = "includes/computed.jinja"
MACRO = re.compile(r"\{%-? macro (\w+)\(\) -?%\}(.*?)\{%-? endmacro -?%\}", re.DOTALL)
JINJA_STATEMENT_OR_COMMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
# Where a macro's answer goes in a hand-built copy: a run without spaces or slashes that holds a
# Jinja or GitHub expression (`{{ gcp_location }}`, `${{ env.GCP_LOCATION }}`, `{{ x }}-all`).
SLOT = r"(?:[^\s/`'\"(){}]*?\{\{[^{}]*\}\})+[^\s/`'\"(){}]*"


def tracked(prefix: str) -> list[str]:
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT).splitlines()
    return [f for f in listed if f.startswith(prefix) and (TEMPLATE_ROOT / f).is_file()]


def sources() -> dict[str, str]:
    """Every template source that renders into a project, and the includes but the computed one;
    `{% raw %}` markers dropped so that a GitHub expression reads as written."""
    found = {}
    for path in tracked("template/") + tracked("includes/"):
        if path != COMPUTED_SOURCE:
            text = (TEMPLATE_ROOT / path).read_text(encoding="utf-8")
            found[path] = re.sub(r"\{%-? (?:end)?raw -?%\}", "", text)
    return found


def construction(body: str) -> re.Pattern[str] | None:
    """The shape of a computed value's macro: its literal text with a slot for each expression, or
    for a macro that is one expression, that expression; None when there is nothing to recognise."""
    body = JINJA_STATEMENT_OR_COMMENT.sub("", body).strip()
    pieces = EXPRESSION.split(body)  # literal, expression, literal, ...
    literals, expressions = pieces[0::2], pieces[1::2]
    if not expressions:
        # A constant (the GitHub environment's name) has no construction to recognise, and its
        # literal cannot be told from other things spelled alike (uv's index `artifact-registry`).
        return None
    if not "".join(literals).strip():
        if len(expressions) != 1:
            return None
        spelled = re.sub(r"[\"']", lambda _: "[\"']", re.escape(expressions[0]).replace(r"\ ", r"\s*"))
        return re.compile(spelled)
    if sum(len(literal.strip()) for literal in literals) < 4:
        return None  # e.g. a list's brackets and commas: no construction to recognise
    shape = "".join(re.escape(piece) if i % 2 == 0 else SLOT for i, piece in enumerate(pieces) if piece or i % 2)
    return re.compile(shape)


def test_no_computed_value_is_built_by_hand() -> None:
    """For each `when: false` value of copier.yml, the construction in its macro appears only in
    includes/computed.jinja: every template takes the value (`{{ registry_host }}`) instead."""
    macros = dict(MACRO.findall((TEMPLATE_ROOT / COMPUTED_SOURCE).read_text()))
    assert set(COMPUTED) <= set(macros), "each computed value is a macro of includes/computed.jinja"
    shapes = {name: construction(macros[name]) for name in COMPUTED}
    assert shapes["registry_host"] is not None, "the test recognises at least the host's construction"
    found = []
    for path, text in sources().items():
        for name, shape in shapes.items():
            if shape is not None:
                for match in shape.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path}:{line}: {name} built by hand: {match.group(0)}")
    assert found == [], "\n".join(found)


# --- The supported Pythons -----------------------------------------------------------------------

DOCUMENTS = (
    "README.md",
    "CONTRIBUTING.md",
    "copier.yml",
    # docs/questions.md is written from copier.yml by tools/questions.py: it repeats, never states.
    *(f"docs/{p.name}" for p in sorted((TEMPLATE_ROOT / "docs").glob("*.md")) if p.name != "questions.md"),
)
# "3.11 to 3.14", "to 3.14", "..3.14", "python_min_version..3.14": the ends of a stated range.
RANGE_END = re.compile(r"(?:\bto |\.\.)3\.(\d+)\b")
RANGE_START = re.compile(r"\b3\.(\d+) to\b")
VERSION_LITERAL = re.compile(r"""["']3\.\d+["']""")


def test_the_supported_pythons_are_written_once() -> None:
    oldest, newest = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    texts = {name: (TEMPLATE_ROOT / name).read_text(encoding="utf-8") for name in DOCUMENTS} | sources()
    stated = []
    for name, text in texts.items():
        stated += [(name, f"3.{m}", newest) for m in RANGE_END.findall(text)]
        stated += [(name, f"3.{m}", oldest) for m in RANGE_START.findall(text)]
        if name != "includes/pythons.jinja":
            assert not VERSION_LITERAL.search(text), (
                f"{name} spells a Python version: take it from includes/pythons.jinja"
            )
    wrong = [(name, said) for name, said, expected in stated if said != expected]
    assert stated and wrong == [], f"these state a range other than {oldest} to {newest}: {wrong}"

    reference = (TEMPLATE_ROOT / "docs/questions.md").read_text()
    assert f"(`{oldest}` with every default)" in markdown_section(reference, "### `python_min_version`")
    ci = yaml.safe_load((TEMPLATE_ROOT / ".github/workflows/ci.yml").read_text())
    matrices = [job["strategy"]["matrix"]["python-version"] for job in ci["jobs"].values() if "strategy" in job]
    assert matrices == [SUPPORTED_PYTHONS], "this repository's CI runs on every supported Python"


def test_copier_offers_the_supported_pythons(generate) -> None:
    """The templated choices and default of python_min_version render to the list's versions."""
    assert generate("defaults").answers["python_min_version"] == SUPPORTED_PYTHONS[0]
    spec = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["python_min_version"]
    assert "includes/pythons.jinja" in spec["choices"] and "includes/pythons.jinja" in spec["default"]


# --- Copier's conflict labels, action pins -------------------------------------------------------


def hook_module(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_ROOT / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hooks_conflict_labels_are_copiers_and_spelled_once() -> None:
    labels = hook_module("conflict_labels").LABELS
    copier_source = (Path(copier.__file__).parent / "_main.py").read_text()
    merge = re.search(r'"merge-file",\s*"-L",\s*"([^"]+)",\s*"-L",\s*"([^"]+)",\s*"-L",\s*"([^"]+)"', copier_source)
    assert merge, "Copier's own git merge-file call, whose labels the hooks follow"
    assert merge.groups() == labels
    for path in tracked("hooks/"):
        if path != "hooks/conflict_labels.py":
            text = (TEMPLATE_ROOT / path).read_text()
            assert not [label for label in labels if label in text], f"{path} spells a label of conflict_labels.py"


def test_no_action_is_pinned_outside_the_workflows() -> None:
    """Dependabot and the pin test read the workflows: a SHA anywhere else would go stale unseen."""
    sha = re.compile(r"\b[0-9a-f]{40}\b")
    outside = [p for p in tracked("template/") if not p.startswith("template/.github/")]
    pinned = [p for p in outside if sha.search((TEMPLATE_ROOT / p).read_text(encoding="utf-8"))]
    assert pinned == [], "name the workflow whose `uses:` line to copy instead"


def test_the_copier_a_project_runs_is_the_copier_the_template_is_tested_with() -> None:
    """copier_command (every Copier command a project prints), pyproject.toml's dev group and the
    template-update workflow's hash-pinned install name one version."""
    macros = dict(MACRO.findall((TEMPLATE_ROOT / COMPUTED_SOURCE).read_text()))
    assert macros["copier_command"].strip() == pinned_copier()
    requirements = (
        TEMPLATE_ROOT / "template/.github/{% if template_updates %}template-update-requirements.txt{% endif %}"
    )
    assert re.search(rf"^{re.escape(pinned_requirements()['copier'])} \\", requirements.read_text(), re.MULTILINE)
