"""Redocly's `recommended` ruleset over the committed openapi.json: no errors (warnings are
printed and allowed).

The CLI (`@redocly/cli`, the latest release when first installed) is installed with npm into
.cache/redocly/ at the repository root (gitignored) the first time, and run from there after:
the same as `npx --yes @redocly/cli@latest lint --extends=recommended openapi.json`, without a
download on every run. Delete the folder to take a newer release. Without npm (or node) the
test is skipped, unless CI is set: CI must lint.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "openapi.json"
INSTALL_DIR = REPO_ROOT / ".cache" / "redocly"
CLI = INSTALL_DIR / "node_modules" / ".bin" / "redocly"
PACKAGE = "@redocly/cli@latest"
INSTALL_TIMEOUT_S = 600
LINT_TIMEOUT_S = 300
# No usage telemetry and no update banner from the CLI.
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


def _missing(tool: str) -> None:
    message = f"{tool} is not installed; the OpenAPI lint needs it (Node.js with npm)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI is set")
    pytest.skip(message)


def redocly() -> Path:
    """The Redocly CLI, installed into .cache/redocly/ when it is not there yet."""
    if shutil.which("node") is None:
        _missing("node")
    if CLI.exists():
        return CLI
    npm = shutil.which("npm")
    if npm is None:
        _missing("npm")
        raise AssertionError("unreachable")  # _missing skips or fails
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(INSTALL_DIR),
            "--no-save",
            "--no-audit",
            "--no-fund",
            PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0 and CLI.exists(), (
        f"npm could not install {PACKAGE}:\n{done.stdout}\n{done.stderr}"
    )
    return CLI


def test_openapi_json_passes_the_redocly_recommended_rules() -> None:
    cli = redocly()
    done = subprocess.run(
        [str(cli), "lint", "--extends=recommended", "--format=stylish", str(DOCUMENT)],
        cwd=REPO_ROOT,
        env=os.environ | QUIET,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )
    report = f"{done.stdout}\n{done.stderr}"
    print(report)  # the warnings, shown with -s or -rP
    assert done.returncode == 0, f"redocly lint found errors in openapi.json:\n{report}"
