"""When an update changed package_name, carry the user's src/<old>/ over to src/<new>/.

Copier renders src/<new>/ from the template, deletes the template's files from src/<old>/ (with
any edits the user made to them) and leaves the user's own files behind in src/<old>/.
`PackageRename.carry_over` puts each committed file of src/<old>/ back under src/<new>/:

- a file of the user's own, left in src/<old>/, moves to src/<new>/;
- a template file the user had changed comes back from the last commit, merged three ways with
  the fresh render: the base is the old template version rendered with the old answers, so the
  user's edits and the template's changes combine, and only lines both changed get conflict
  markers (without that base, the merge has no common ancestor and every difference is a
  conflict); nothing is silently lost;
- in every file it moves or restores, `import <old>` and `from <old>` become the new name.

Conflicts carry Copier's own labels, so every conflict of an update reads the same.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import copier_answers
from conflict_labels import LABELS
from terminal import say


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def render_previous_version(
    template: str, answers: dict[str, Any], answers_file: str, destination: Path
) -> Path | None:
    """The template version the project came from, rendered with its answers: the merge base."""
    import copier  # the interpreter running this migration is Copier's own

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    try:
        copier.run_copy(
            template,
            str(destination),
            data=data,
            vcs_ref=copier_answers.template_version(answers, answers_file),
            defaults=True,
            skip_tasks=True,
            quiet=True,
            unsafe=True,
        )
    except Exception as error:  # any failure costs only the finer merge
        say(
            f"gar-template: could not render the previous template version ({error}); "
            "edited template files are merged without a common base, so every difference is a conflict.",
            file=sys.stderr,
        )
        return None
    return destination


def merge(mine: str, base: str, template: str) -> tuple[str, bool]:
    """Three-way merge with git merge-file; returns the text and whether conflicts remain."""
    with tempfile.TemporaryDirectory() as scratch:
        paths = [Path(scratch, name) for name in ("mine", "base", "template")]
        for path, text in zip(paths, (mine, base, template), strict=True):
            path.write_text(text)
        labels = [argument for label in LABELS for argument in ("-L", label)]
        result = subprocess.run(
            ["git", "merge-file", "-p", *labels, *map(str, paths)], capture_output=True, text=True, check=False
        )
    return result.stdout, result.returncode != 0


class PackageRename:
    """Carries the committed files of src/<old>/ over to src/<new>/, one at a time."""

    def __init__(self, old: str, new: str, previous_render: Path | None) -> None:
        self.old, self.new = old, new
        self.old_dir, self.new_dir = Path("src", old), Path("src", new)
        self.previous_render = previous_render

    def renamed_imports(self, text: str) -> str:
        return re.sub(rf"(^|\n)(\s*)(from|import)(\s+){re.escape(self.old)}\b", rf"\1\2\3\4{self.new}", text)

    def committed_files(self) -> list[str]:
        return git("ls-tree", "-r", "--name-only", "HEAD", "--", f"{self.old_dir}/").splitlines()

    def target(self, path: str) -> Path:
        """Where a file of src/<old>/ goes under src/<new>/."""
        return self.new_dir / Path(path).relative_to(self.old_dir)

    def carry_over(self, path: str) -> str:
        """Carry one committed file of src/<old>/ over; returns what happened to it.

        "moved", "restored", "merged", "conflict", or "unchanged" when the fresh render already
        equals the user's committed file.
        """
        source = Path(path)
        target = self.target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.exists():
            # A file Copier did not own, left behind under the old name: the template has no
            # earlier version of it, so a clash with a new template file has no common base.
            mine = self.renamed_imports(source.read_text())
            source.unlink()
            return self.settle(target, mine, base="", outcome="moved")
        committed = self.renamed_imports(git("show", f"HEAD:{path}"))
        if not target.exists():
            target.write_text(committed)
            return "restored"
        base_file = self.previous_render / path if self.previous_render else None
        base = self.renamed_imports(base_file.read_text()) if base_file and base_file.is_file() else ""
        return self.settle(target, committed, base=base, outcome="merged")

    def settle(self, target: Path, mine: str, *, base: str, outcome: str) -> str:
        """Write `mine` to `target`, merged with what the template rendered there if anything."""
        if not target.exists():
            target.write_text(mine)
            return outcome
        rendered = target.read_text()
        if rendered == mine:
            return "unchanged" if outcome == "merged" else outcome
        text, conflicts = merge(mine, base, rendered)
        target.write_text(text)
        return "conflict" if conflicts else outcome

    def remove_old_directories(self) -> None:
        for directory in sorted((p for p in self.old_dir.rglob("*") if p.is_dir()), reverse=True):
            if not any(directory.iterdir()):
                directory.rmdir()
        if self.old_dir.is_dir() and not any(self.old_dir.iterdir()):
            self.old_dir.rmdir()


def follow(previous: dict[str, Any], current: dict[str, Any], template: str, answers_file: str) -> None:
    """Carry src/<old>/ over when package_name changed, and say what happened to each file."""
    old, new = previous.get("package_name"), current.get("package_name")
    if not isinstance(old, str) or not isinstance(new, str) or old == new:
        return
    outcomes: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = render_previous_version(template, previous, answers_file, Path(scratch, "previous"))
        rename = PackageRename(old, new, base)
        for path in rename.committed_files():
            outcomes.setdefault(rename.carry_over(path), []).append(str(rename.target(path)))
    rename.remove_old_directories()

    say(f"gar-template: package renamed from {old} to {new}; src/{old}/ was carried over to src/{new}/.")
    for outcome, label in (
        ("moved", "moved"),
        ("restored", "restored"),
        ("merged", "merged"),
        ("conflict", "CONFLICT, resolve by hand"),
    ):
        for target in outcomes.get(outcome, []):
            say(f"  {label}: {target}")
    say(f"  Imports of '{old}' elsewhere (your own tests, docs) still need renaming:", f"$ git grep -n '{old}'")
