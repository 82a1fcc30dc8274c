"""PyYAML's C parser (libyaml) for YAML loaded in a test process, Copier's included.

Copier parses copier.yml with a subclass of yaml.SafeLoader, built when it loads the template, for
every copy and update: in pure Python, about a quarter of an in-process update's CPU (26 ms a
parse; libyaml, which PyYAML's wheels bundle, takes 3 ms and gives the same data). Copier's own
processes, started as a user starts them, keep PyYAML's default.
"""

from __future__ import annotations

import yaml


def load_yaml_with_libyaml() -> None:
    """Make yaml.SafeLoader, and so yaml.safe_load and Copier's subclass, the C loader."""
    if getattr(yaml, "__with_libyaml__", False):
        yaml.SafeLoader = yaml.CSafeLoader  # type: ignore[misc,assignment]
