"""Write docs/questions.md, the reference of every question, from copier.yml.

    uv run tools/questions.py           # write docs/questions.md
    uv run tools/questions.py --check   # exit 1 when docs/questions.md is not what copier.yml gives

Each question's help is copier.yml's own text, the one Copier shows above the prompt; its default
is the value Copier derives for a project copied with `--defaults` (a pretend copy of this checkout,
which writes nothing and runs no task). The page is never edited by hand: tests/test_docs.py fails
when it is stale, naming this command.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "questions.md"
COMMAND = "uv run tools/questions.py"


def questions() -> dict[str, dict[str, object]]:
    spec = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {key: value for key, value in spec.items() if not key.startswith("_") and isinstance(value, dict)}


def default_answers() -> dict[str, object]:
    """What Copier answers for every question of this checkout's copier.yml with --defaults."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch, "template")
        for relative in listed:
            if (ROOT / relative).is_file():
                (source / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, source / relative)
        worker = copier.run_copy(
            str(source), Path(scratch, "project"), defaults=True, pretend=True, quiet=True, unsafe=True
        )
        answers = dict(worker.answers.combined)
    # setup_command names the template's source and release: shown as a copy of
    # gh:OWNER/gar-template at a release gets it, not as this scratch copy.
    answers["setup_command"] = str(answers["setup_command"]).replace(
        f"--from {source} ", "--from git+https://github.com/OWNER/gar-template@vX.Y.Z "
    )
    return answers


def code(value: object) -> str:
    text = "false" if value is False else "true" if value is True else str(value)
    return f"`{text}`" if text else "empty"


def asked(key: str, spec: dict[str, object]) -> str:
    when = spec.get("when")
    if when is None:
        return "always"
    condition = str(when).strip().removeprefix("{{").removesuffix("}}").strip()
    if condition.startswith(key):  # `when` reads the answer itself: only an answer given asks it
        return "never: pass it with `--data`, and it is recorded"
    return f"when `{condition}`"


def entry(key: str, spec: dict[str, object], answers: dict[str, object]) -> list[str]:
    default = spec.get("default")
    derived = isinstance(default, str) and "{{" in default
    value = answers.get(key)
    lines = [f"### `{key}`", ""]
    help_text = str(spec.get("help", "")).strip()
    lines += [f"> {line}" if line else ">" for line in help_text.splitlines()]
    lines.append("")
    facts = [f"type {spec.get('type', 'str')}", f"asked {asked(key, spec)}"]
    if "default" not in spec:
        facts.append("no default: type one")
    elif derived:
        facts.append(f"default derived from the answers before it ({code(value)} with every default)")
    else:
        facts.append(f"default {code(value)}")
    choices = spec.get("choices")
    if isinstance(choices, dict):
        facts.append("choices " + ", ".join(code(v) for v in choices.values()))
    elif choices is not None:
        facts.append("choices " + ", ".join(code(v) for v in yaml.safe_load(choices_of(key, answers))))
    if "validator" in spec:
        facts.append("validated (see [validation.md](validation.md))")
    lines += ["- " + "; ".join(facts), ""]
    return lines


def choices_of(key: str, answers: dict[str, object]) -> str:
    """A templated choice list, rendered the way Copier renders it."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT))
    return environment.from_string(str(questions()[key]["choices"])).render(**answers)


def render() -> str:
    spec = questions()
    answers = default_answers()
    asked_keys = [k for k, v in spec.items() if v.get("when") is not False]
    computed = [k for k, v in spec.items() if v.get("when") is False]
    lines = [
        "# Questions",
        "",
        f"<!-- Written by `{COMMAND}` from copier.yml: edit copier.yml, then run it. -->",
        "",
        "Every question of `copier.yml`, in the order Copier asks them. The quoted text is the help",
        "Copier shows above the prompt. Pass any of them with `--data KEY=VALUE`; the keys are a",
        "public interface. A default marked derived follows the answers before it, and the value",
        "shown is the one a project copied with `--defaults` gets. Questions asked only under a",
        "condition are recorded in `.copier-answers.yml` only when asked.",
        "",
    ]
    for key in asked_keys:
        lines += entry(key, spec[key], answers)
    lines += [
        "## Computed values",
        "",
        "Never asked and never recorded: `copier.yml` computes them from the answers",
        "(`includes/computed.jinja`) for the templates to share. Passing one with `--data` is refused",
        "unless it equals the computed value.",
        "",
        "| key | what it is | with every default |",
        "| --- | --- | --- |",
    ]
    for key in computed:
        help_text = " ".join(str(spec[key].get("help", "")).split())
        lines.append(f"| `{key}` | {help_text} | {code(answers.get(key))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/questions.md is stale")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), "docs/questions.md", "copier.yml")
            print("\n".join(diff))
            print(f"docs/questions.md is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
