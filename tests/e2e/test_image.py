"""The code-location image: built with docker where there is one; otherwise the Dockerfile's steps
are taken in a fresh venv (pip install of the project, its dependencies taken from this environment,
then the code location validated from a folder holding only what the image copies beside it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _copied() -> list[tuple[str, str]]:
    """(source, destination) of every COPY of the Dockerfile."""
    return [tuple(line.split()[-2:]) for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")]


def test_every_file_the_dockerfile_copies_exists():
    copied = _copied()
    assert copied and all((ROOT / source).exists() for source, _ in copied), copied
    assert ("infra/dagster/dagster.yaml", "/opt/dagster/home/dagster.yaml") in copied  # the production instance


def test_the_image_builds_or_its_steps_work_in_a_fresh_venv(tmp_path):
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        built = subprocess.run(
            [docker, "build", "-t", "txdagster:test", str(ROOT)], capture_output=True, text=True, timeout=1800
        )
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        return
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # The dependencies (and pip) come from this environment, which `make install` resolved from scratch
    # (resolving them again took 80 s of the suite), without moto, which the image does not install: a
    # .pth line makes `import moto` fail as it would there. The project itself is built from what the
    # Dockerfile copies (less .dockerignore's paths), in pip's isolated build environment.
    site_packages = next(venv.glob("lib/python*/site-packages"))
    (site_packages / "dependencies.pth").write_text("\n".join(p for p in sys.path if p.endswith("site-packages")))
    (site_packages / "no_moto.pth").write_text("import sys; sys.modules['moto'] = None\n")
    context = _build_context(tmp_path / "context")
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(context)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    workdir = tmp_path / "opt-txdagster"  # what the image holds beside the installed package
    workdir.mkdir()
    shutil.copy(ROOT / "workspace.yaml", workdir / "workspace.yaml")
    validate = [str(venv / "bin" / "python"), "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"]
    validated = subprocess.run(validate, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]
    assert "All code locations passed validation" in validated.stdout + validated.stderr

    probe = (
        "import importlib.resources, importlib.util, txdagster, txdagster.definitions; print(txdagster.__file__); "
        "print(sorted(p.name for p in importlib.resources.files('txdagster.defs.bi').iterdir())); "
        "print(importlib.util.find_spec('txdagster.local')); "
        "from txdagster.ingest.native import NATIVE; print(NATIVE and NATIVE.__file__)"
    )
    shown = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr[-3000:]  # the definitions load without moto
    where, sql, local, native = shown.stdout.splitlines()
    assert str(venv) in where  # the installed package, not this checkout
    assert re.search(r"\.sql'", sql), sql  # the views' SQL ships with the package
    assert local == "None"  # the embedded stack stays out of the image
    assert str(venv) in native  # the ingest road's C parts were compiled into the installed package
    refused = subprocess.run([str(venv / "bin" / "python"), "-c", "import moto"], capture_output=True, timeout=60)
    assert refused.returncode != 0  # the probe above ran without moto indeed


def _build_context(into: Path) -> Path:
    """The Dockerfile's build context as docker sees it: the files it copies, less .dockerignore's."""
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    ignored = [line for line in ignored if line and not line.startswith("#")]

    def skip(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(ROOT)
        return {n for n in names if any((relative / n).match(pattern) for pattern in ignored)}

    copies = [line.split()[1:-1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")]
    for source in (source for sources in copies for source in sources):
        if source in ("workspace.yaml", "infra/dagster/dagster.yaml"):
            continue  # beside the package, not in it
        target = into / source
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=skip)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, target)
    return into
