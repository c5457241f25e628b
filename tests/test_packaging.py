"""opsbot as an operator installs it: the wheel, built here, in a fresh virtualenv, outside the repository."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]


def _sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the built wheel installed (not editable); returns its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("bot", "handlers"):
        shutil.copytree(
            ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md", "LICENSE", "manifest.yml"):
        shutil.copy2(ROOT / name, source / name)
    built = _sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        tmp / "dist",
        ".",
        cwd=source,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("opsbot-*.whl")
    target = tmp / "venv"
    venv.create(target, with_pip=False)
    # The dependencies come from the test environment (the suite runs offline); opsbot itself only
    # from the wheel. A path line in a .pth does not run the .pth files of that directory, so the
    # development install's editable hook stays inactive.
    site = Path(
        _sh(
            target / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = _sh(
        sys.executable,
        "-m",
        "pip",
        "--python",
        target / "bin/python",
        "install",
        "-q",
        "--no-deps",
        wheel,
        cwd=tmp,
    )
    assert pip.returncode == 0, pip.stderr
    return target / "bin"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "STATUS_PAGES": "[]", **extra}


def test_wheel_is_installed_not_the_repository(installed: Path, tmp_path: Path) -> None:
    where = _sh(installed / "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert str(installed.parent) in where.stdout, where


def test_console_script_help_and_manifest(installed: Path, tmp_path: Path) -> None:
    helped = _sh(installed / "opsbot", "--help", cwd=tmp_path, env=_env(tmp_path))
    assert helped.returncode == 0 and "serve" in helped.stdout and "backup" in helped.stdout
    shown = _sh(
        installed / "opsbot", "manifest", "--url", "https://ops.example.org", cwd=tmp_path, env=_env(tmp_path)
    )
    assert shown.returncode == 0, shown.stderr
    manifest = yaml.safe_load(shown.stdout)
    assert (
        manifest["settings"]["event_subscriptions"]["request_url"] == "https://ops.example.org/slack/events"
    )
    # The packaged template is the top-level manifest.yml, not a copy that could drift.
    assert (ROOT / "bot/slack/manifest.yml").resolve() == (ROOT / "manifest.yml").resolve()


def test_console_script_migrate_creates_a_private_store(installed: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/state/opsbot.db")
    first = _sh(installed / "opsbot", "migrate", cwd=tmp_path, env=env)
    assert first.returncode == 0 and "applied migrations" in first.stdout, first.stderr
    again = _sh(installed / "opsbot", "migrate", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "up to date" in again.stdout
    files = sorted((tmp_path / "state").iterdir())
    assert tmp_path / "state/opsbot.db" in files
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_console_script_check(installed: Path, tmp_path: Path) -> None:
    checked = _sh(installed / "opsbot", "check", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 3, checked  # the monitoring-plugin UNKNOWN: nothing is configured
    assert checked.stdout.startswith("OPSBOT UNKNOWN - no checks configured")
    assert "NOT CONFIGURED Stripe webhooks - set STRIPE_API_KEY" in checked.stdout
    assert "Traceback" not in checked.stderr
    unknown = _sh(installed / "opsbot", "check", "no-such-scenario", cwd=tmp_path, env=_env(tmp_path))
    assert unknown.returncode == 3 and "OPSBOT UNKNOWN" in unknown.stdout


def test_procfile_migrates_in_the_release_phase() -> None:
    assert (ROOT / "Procfile").read_text().splitlines() == ["web: opsbot serve", "release: opsbot migrate"]


def test_systemd_unit_in_the_deployment_docs(tmp_path: Path) -> None:
    import configparser
    import re

    from bot.server.app import REQUEST_GRACE_S
    from bot.settings import Settings

    docs = (ROOT / "docs/deployment.md").read_text()
    (unit,) = re.findall(r"```ini\n(.*?)```", docs, re.S)
    parsed = configparser.ConfigParser(strict=True, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read_string(unit)
    service = parsed["Service"]
    assert service["ExecStart"].endswith("/bin/opsbot serve") and service["KillSignal"] == "SIGTERM"
    budget = REQUEST_GRACE_S + Settings.model_fields["shutdown_grace_s"].default + 1
    assert float(service["TimeoutStopSec"]) > budget  # systemd must not SIGKILL a clean stop
    # systemd's own check where systemd is installed, with the executable pointed at a real install.
    if shutil.which("systemd-analyze") is None:
        return
    real = unit.replace("/opt/opsbot/.venv/bin/opsbot", str(Path(sys.executable).parent / "opsbot"))
    (tmp_path / "opsbot.service").write_text(real)
    verified = _sh("systemd-analyze", "verify", tmp_path / "opsbot.service", cwd=tmp_path)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
