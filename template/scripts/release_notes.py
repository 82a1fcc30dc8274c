"""Print one version's section of CHANGELOG.md, the text of its GitHub Release.

    python scripts/release_notes.py --version 1.2.3 CHANGELOG.md

The section is what follows the heading `## [1.2.3]` (a date may follow the version, as in
`## [1.2.3] - 2026-12-01`) up to the next `## ` heading. A missing or empty section is an error
that says what to write: the publish workflow runs this before anything is uploaded.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

HEADING = re.compile(r"^## \[v?(?P<version>[^\]]+)\]")


def section(changelog: str, version: Version) -> str | None:
    """The text under the version's heading, stripped; None when no heading names the version."""
    lines: list[str] | None = None
    for line in changelog.splitlines():
        if line.startswith("## "):
            if lines is not None:
                break
            heading = HEADING.match(line)
            try:
                if heading and Version(heading.group("version")) == version:
                    lines = []
            except InvalidVersion:
                continue
        elif lines is not None:
            lines.append(line)
    return None if lines is None else "\n".join(lines).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, type=Version, help="the version released")
    parser.add_argument("changelog", type=Path, help="the project's CHANGELOG.md")
    args = parser.parse_args()
    text = args.changelog.read_text(encoding="utf-8") if args.changelog.is_file() else None
    found = section(text, args.version) if text is not None else None
    if not found:
        what = "has no" if found is None else "has an empty"
        print(
            f"::error::{args.changelog} {what} section for {args.version}. Add "
            f"'## [{args.version}] - YYYY-MM-DD' with what changed for the package's users (Keep "
            "a Changelog), commit and push it; then release the same version again. Nothing was "
            "uploaded.",
            file=sys.stderr,
        )
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
