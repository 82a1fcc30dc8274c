"""Copier's labels for the sides of an inline conflict, which the hooks write and print.

Copier labels an update's conflicts "before updating" (the project's side) and "after updating"
(the template's); package_rename.py passes the same labels to `git merge-file`, with "last update"
for the base, so that a rename's conflicts read like Copier's own, and after_update.py names them
when it lists the conflicts left. Imported by the hooks, which run as scripts from this folder.
"""

from __future__ import annotations

OURS, BASE, THEIRS = "before updating", "last update", "after updating"
LABELS = (OURS, BASE, THEIRS)
# How after_update.py tells a user where a conflict's two sides are.
BOTH_SIDES = f"between '<<<<<<< {OURS}' and '>>>>>>> {THEIRS}'"
