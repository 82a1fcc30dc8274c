"""The real gcloud on this machine, asked to run many commands in one process.

Starting gcloud costs about a second of Python imports per command, so running each of the setup's
fifty-odd distinct commands as its own process took over a minute. `gcloud_main.CreateCLI` builds
the same command tree `gcloud` does; executing each command on that one tree parses it exactly as
the command line would. With no account configured, a command that parses stops right after
parsing ("You do not currently have an active account selected"), so nothing reaches Google.

Run as a script with gcloud's own Python: reads a JSON list of argument lists on stdin, prints a
JSON list of {"code", "stderr"}.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

NO_ACCOUNT = "You do not currently have an active account selected"


def installed() -> bool:
    return shutil.which("gcloud") is not None


def run_all(commands: list[list[str]], config: Path) -> list[dict[str, object]]:
    """Each command's exit code and stderr, from one gcloud process with an empty configuration."""
    gcloud = shutil.which("gcloud")
    assert gcloud is not None, "the real gcloud is not installed"
    root = Path(gcloud).resolve().parent.parent
    # The Python gcloud's own launcher picks: CLOUDSDK_PYTHON, else the bundled one, else python3.
    bundled = root / "platform/bundledpythonunix/bin/python3"
    python = os.environ.get("CLOUDSDK_PYTHON") or (str(bundled) if bundled.is_file() else "python3")
    config.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    result = subprocess.run(
        [python, __file__, str(root)],
        input=json.dumps(commands),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers: list[dict[str, object]] = json.loads(result.stdout)
    return answers


def _serve(root: Path) -> None:
    import contextlib
    import io

    sys.path.insert(0, str(root / "lib"))
    import gcloud as launcher  # gcloud's own launcher module: the same sys.path fix-ups

    sys.path = launcher.reorder_sys_path(sys.path)
    launcher._fix_google_module()
    from googlecloudsdk import gcloud_main
    from googlecloudsdk.core import log

    cli = gcloud_main.CreateCLI([])
    answers = []
    for command in json.loads(sys.stdin.read()):
        stderr = io.StringIO()
        log.Reset(stdout=io.StringIO(), stderr=stderr)
        code: object = 0
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                cli.Execute(command)
        except SystemExit as exit:
            code = exit.code
        except Exception as error:  # a crash is an answer too: the test shows it
            stderr.write(f"{type(error).__name__}: {error}")
            code = -1
        answers.append({"code": code, "stderr": stderr.getvalue()})
    print(json.dumps(answers))


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
