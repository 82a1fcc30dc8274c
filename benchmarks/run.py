"""Benchmarks for gar-template: one command, real tools, medians of alternating runs.

    uv run benchmarks/run.py                 # copy, update, build, publish (a few minutes)
    uv run benchmarks/run.py --rounds 9 --suite   # more rounds, plus the whole test suite
    uv run benchmarks/run.py --only green    # only copy to green (pip, uv, anchor)

Figures (seconds, medians):
  copy     `copier copy --trust --defaults` of this template, tasks included, against Copier's
           floor: a one-file template copied the same way, alternating A/B; the ratio is the figure.
  update   `copier update --trust --defaults` of a generated project between two template tags.
  wheel    a generated project to a built wheel (`python -m build --wheel`, isolated, warm pip cache).
  tests    a generated project to its tests passing: venv, pip upgrade, `pip install -e . --group
           test`, pytest.
  publish  build, `twine upload` to a local pypiserver with authentication, install into a fresh
           virtualenv from its /simple/ page, import.
  green    copy to green: `copier copy`, then the generated README's commands to passing tests and
           lint, once through pip and once through uv, against a uv-native anchor (simple-modern-uv,
           copied with Copier from the clone --anchor names, run with its own Makefile) in the same loop.
  suite    `python -m pytest -n auto` of this repository (with --suite), as .ci/run runs it.
Results go to stdout and benchmarks/results/ (ignored by git).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import IDENTITY  # noqa: E402  (the tests' own helpers)
from isolation import isolate  # noqa: E402
from package_index import PackageIndex, running_index  # noqa: E402

PYTHON = sys.executable
# simple-modern-uv, the uv-native anchor of "copy to green": a git clone named by --anchor or by this
# variable; without one the anchor's figures are skipped.
ANCHOR_VARIABLE = "GAR_TEMPLATE_BENCH_ANCHOR"


def sh(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True)


def timed(action: Callable[..., None], *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    action(*args, **kwargs)
    return time.perf_counter() - start


def tagged_template(workdir: Path) -> Path:
    """A clone of this template tagged v0.1.0, then a small change tagged v0.2.0."""
    template = workdir / "template"
    sh("git", "clone", "--quiet", "--no-tags", ROOT, template)  # its own tags, not the real ones
    sh("git", "tag", "v0.1.0", cwd=template)
    readme = template / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nBenchmark change.\n")
    sh("git", *IDENTITY, "commit", "--quiet", "--all", "-m", "change", cwd=template)
    sh("git", "tag", "v0.2.0", cwd=template)
    return template


def floor_template(workdir: Path) -> Path:
    """Copier's floor: one question, one file, no tasks; a tagged git repository like ours."""
    floor = workdir / "floor"
    (floor / "template").mkdir(parents=True)
    (floor / "copier.yml").write_text("_subdirectory: template\nname:\n  type: str\n  default: x\n")
    (floor / "template" / "README.md.jinja").write_text("# {{ name }}\n")
    sh("git", "init", "--quiet", floor)
    sh("git", "add", "--all", cwd=floor)
    sh("git", *IDENTITY, "commit", "--quiet", "-m", "floor", cwd=floor)
    sh("git", "tag", "v0.1.0", cwd=floor)
    return floor


def copier(*args: str | Path, cwd: Path | None = None) -> None:
    sh(PYTHON, "-m", "copier", *args, cwd=cwd)


def bench_copy(template: Path, floor: Path, workdir: Path, rounds: int) -> dict[str, float]:
    ours, base = [], []
    copy = ("copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "v0.1.0")
    for i in range(rounds):  # alternating, so drift in machine load hits both alike
        base.append(timed(copier, *copy, floor, workdir / f"f{i}"))
        ours.append(timed(copier, *copy, template, workdir / f"o{i}"))
    return {
        "copy (template + tasks)": statistics.median(ours),
        "copy (one-file floor)": statistics.median(base),
        "copy ratio": statistics.median(ours) / statistics.median(base),
    }


def bench_update(template: Path, workdir: Path, rounds: int) -> dict[str, float]:
    base = workdir / "update-base"
    copier("copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "v0.1.0", template, base)
    times = []
    for i in range(rounds):
        project = workdir / f"u{i}"
        sh("git", "clone", "--quiet", base, project)
        times.append(timed(copier, "update", "--trust", "--defaults", "--quiet", "--vcs-ref", "v0.2.0", cwd=project))
    return {"update v0.1.0 -> v0.2.0": statistics.median(times)}


def pip_install(venv: Path, *args: str | Path) -> None:
    sh(venv / "bin/python", "-m", "pip", "install", "--quiet", *args)


def install_and_test(project: Path, venv: Path) -> None:
    sh(PYTHON, "-m", "venv", venv)
    pip_install(venv, "--upgrade", "pip")
    pip_install(venv, "--editable", project, "--group", f"{project}/pyproject.toml:test")
    sh(venv / "bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)


def bench_build_and_tests(project: Path, workdir: Path, rounds: int) -> dict[str, float]:
    wheels, tests = [], []
    for i in range(rounds):
        wheels.append(timed(sh, PYTHON, "-m", "build", "--wheel", "--outdir", workdir / f"w{i}", project))
        tests.append(timed(install_and_test, project, workdir / f"venv{i}"))
    return {"project -> wheel": statistics.median(wheels), "project -> tests passing": statistics.median(tests)}


def publish(project: Path, index: PackageIndex, version: str, out: Path, venv: Path) -> None:
    sh(PYTHON, "-m", "build", "--outdir", out, project)
    sh(
        PYTHON,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        index.upload_url,
        "-u",
        "oauth2accesstoken",
        "-p",
        index.token,
        *out.iterdir(),
    )
    sh(PYTHON, "-m", "venv", venv)
    pip_install(venv, "--no-cache-dir", "--index-url", index.authenticated_simple_url, f"my-package=={version}")
    sh(venv / "bin/python", "-c", "import my_package")


def bench_publish(project: Path, workdir: Path, rounds: int) -> dict[str, float]:
    times = []
    with running_index(workdir / "index") as index:
        for i in range(rounds):
            # Each round publishes a new version: an index refuses the same file twice.
            sh("git", *IDENTITY, "tag", "-a", f"v9.0.{i}", "-m", "bench", cwd=project)
            times.append(timed(publish, project, index, f"9.0.{i}", workdir / f"dist{i}", workdir / f"verify{i}"))
    return {"publish (build, upload, install, import)": statistics.median(times)}


def readme_commands(project: Path, heading: str, first_word: str) -> str:
    """The bash blocks under a README heading whose commands start with `first_word`, as printed
    (none is "": the pip route's lint commands are prose since the Develop block runs nox)."""
    readme = (project / "README.md").read_text()
    start = readme.index(f"\n{heading}\n")
    end = readme.find("\n## ", start + 1)
    blocks = re.findall(r"```bash\n(.*?)```", readme[start : end if end > 0 else len(readme)], re.DOTALL)
    return "".join(b for b in blocks if b.startswith(first_word))


def green_template(template: Path, project: Path, route: str) -> None:
    """`copier copy`, then the README's develop and lint commands of one route, as printed."""
    copier("copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "v0.2.0", template, project)
    first = {"pip": ("python", ".venv/"), "uv": ("uv ", "uv ")}[route]
    script = readme_commands(project, "## Develop", first[0]) + readme_commands(
        project, "## Lint, format, types", first[1]
    )
    sh("bash", "-eo", "pipefail", "-c", script, cwd=project)


def green_anchor(source: str, project: Path, config: Path) -> None:
    """simple-modern-uv's documented route: copy, git init and commit, `make install lint test`."""
    copier("copy", "--defaults", "--quiet", source, project)
    sh("git", "init", "--quiet", "--initial-branch=main", cwd=project)
    sh("git", "add", ".", cwd=project)
    sh("git", *IDENTITY, "commit", "--quiet", "-m", "Initial commit from simple-modern-uv.", cwd=project)
    sh("make", "install", "lint", "test", f"UV_CONFIG_FILE={config}", cwd=project)


def anchor_config(source: str, workdir: Path) -> Path:
    """The anchor's own uv.toml, less its `required-version` pin, so that every route runs one uv."""
    probe = workdir / "anchor-probe"
    copier("copy", "--defaults", "--quiet", source, probe)
    text = (probe / "uv.toml").read_text()
    config = workdir / "anchor-uv.toml"
    config.write_text("".join(line for line in text.splitlines(True) if not line.startswith("required-version")))
    return config


def bench_copy_to_green(template: Path, anchor: Path | None, workdir: Path, rounds: int) -> dict[str, float]:
    # uv (on PATH for the README's commands) is the one installed next to this Python.
    os.environ["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}"
    source = f"git+file://{anchor.resolve()}" if anchor is not None and anchor.is_dir() else ""
    if not source:
        print(
            f"copy to green: no anchor {'at ' + str(anchor) if anchor else 'given'} (a git clone of "
            f"jlevy/simple-modern-uv, by --anchor or {ANCHOR_VARIABLE}); its figures are skipped"
        )
    config = anchor_config(source, workdir) if source else None
    times: dict[str, list[float]] = {"pip": [], "uv": [], "anchor": []}
    for i in range(rounds):  # alternating, so drift in machine load hits all alike
        if config:
            times["anchor"].append(timed(green_anchor, source, workdir / f"ga{i}", config))
        times["uv"].append(timed(green_template, template, workdir / f"gu{i}", "uv"))
        times["pip"].append(timed(green_template, template, workdir / f"gp{i}", "pip"))
    medians = {route: statistics.median(values) for route, values in times.items() if values}
    results = {f"copy to green, {route}": medians[route] for route in ("pip", "uv")}
    if "anchor" in medians:
        results["copy to green, anchor (simple-modern-uv)"] = medians["anchor"]
        results |= {
            f"copy to green ratio, {route} / anchor": medians[route] / medians["anchor"] for route in ("pip", "uv")
        }
    return results


def bench_suite() -> dict[str, float]:
    return {"test suite (pytest -n auto)": timed(lambda: sh(PYTHON, "-m", "pytest", "-q", "-n", "auto", cwd=ROOT))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite")
    parser.add_argument("--only", choices=["green"], help="time only this figure")
    parser.add_argument(
        "--anchor",
        type=Path,
        default=Path(os.environ[ANCHOR_VARIABLE]) if os.environ.get(ANCHOR_VARIABLE) else None,
        help=f"git clone of simple-modern-uv, the copy-to-green anchor (default: ${ANCHOR_VARIABLE})",
    )
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gar-bench-") as tmp:
        workdir = Path(tmp)
        saved = dict(os.environ)
        isolate(workdir / "home")
        try:
            template, floor = tagged_template(workdir), floor_template(workdir)
            if not args.only:
                results |= bench_copy(template, floor, workdir, args.rounds)
                results |= bench_update(template, workdir, args.rounds)
                project = workdir / "project"
                copier("copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "v0.2.0", template, project)
                results |= bench_build_and_tests(project, workdir, max(1, args.rounds // 2))
                results |= bench_publish(project, workdir, max(1, args.rounds // 2))
            results |= bench_copy_to_green(template, args.anchor, workdir, max(1, args.rounds // 2))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        if args.suite and not args.only:
            results |= bench_suite()

    import copier as copier_module

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, copier {copier_module.__version__}, {args.rounds} rounds",
        "",
        "| figure | median |",
        "| --- | --- |",
        *(f"| {name} | {value:.2f}{'x' if 'ratio' in name else ' s'} |" for name, value in results.items()),
    ]
    report = "\n".join(lines)
    print(report)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
