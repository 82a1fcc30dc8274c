"""Jinja's compiled code, reused by every Copier run in a test process.

Copier builds a new Jinja environment for each copy and update, and compiles every question's
default, `when`, validator and help from source each time: half of an in-process copy's CPU, and
the tests run a few hundred. Compiling the same source with the same syntax settings, extensions,
filters and tests gives the same code, so it is compiled once per process. The extensions' own
preprocessing (Copier's yield tag resets its state there) still runs on every compile.
"""

from __future__ import annotations

import types
from typing import Any

import jinja2

_compile = jinja2.Environment.compile
_compiled: dict[tuple[object, ...], Any] = {}


def _key(environment: jinja2.Environment, *arguments: object) -> tuple[object, ...]:
    """Everything the compiled code depends on besides the source: the lexer's settings, the
    extensions, which filters and tests exist, and the code generator's switches (an environment
    with a `finalize` function, which the code depends on too, is never cached)."""
    autoescape = environment.autoescape if isinstance(environment.autoescape, bool) else id(environment.autoescape)
    return (
        type(environment),
        environment.code_generator_class,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        tuple(sorted(environment.extensions)),
        frozenset(environment.filters),
        frozenset(environment.tests),
        environment.is_async,
        environment.optimized,
        autoescape,
        *arguments,
    )


def _compile_once(
    self: jinja2.Environment,
    source: str | jinja2.nodes.Template,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    if not isinstance(source, str) or self.finalize is not None:
        return _compile(self, source, name, filename, raw, defer_init)
    key = _key(self, source, name, raw, defer_init)
    if key in _compiled:
        self.preprocess(source, name, filename)
        return _retarget(_compiled[key], filename or "<template>")
    _compiled[key] = _compile(self, source, name, filename, raw, defer_init)
    return _compiled[key]


def _retarget(code: Any, filename: str) -> Any:
    """The code (or raw source) compiled for another file, as if compiled for `filename`: its code
    objects and those nested in it (macros, blocks) name that file, as Jinja's tracebacks read it."""
    if not isinstance(code, types.CodeType) or code.co_filename == filename:
        return code
    constants = tuple(_retarget(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=constants)


def reuse_compiled_templates() -> None:
    """Install the cache in this process (the suite's, and each xdist worker's)."""
    jinja2.Environment.compile = _compile_once  # type: ignore[method-assign,assignment]
