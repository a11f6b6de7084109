"""docker/build-and-test: everything but the image build itself (that runs with BRIDGE_DOCKER_CI=1).

The build takes 10+ minutes, so the normal suite checks the script's own logic: its usage and exit
codes, the refusal on a machine that can build no images, and the host settings it passes into the
build (pip configuration, CA bundle, Debian mirror).
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docker" / "build-and-test"
if not SCRIPT.exists():  # inside the image: docker/ is left out of the build context on purpose
    pytest.skip("docker/ is not in this tree (the image leaves it out, see docker/Dockerfile.dockerignore)",
                allow_module_level=True)
sys.path.insert(0, str(ROOT / "docker"))
import host_settings  # noqa: E402  (docker/ is not a package: the script runs the file directly)


def run_script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=env if env is not None else os.environ.copy())


def test_help_documents_options_and_exit_codes():
    done = run_script("--help")
    assert done.returncode == 0
    for text in ("--tag", "--base", "--pytest-args", "--skip-tests", "--out", "Exit codes", "77"):
        assert text in done.stdout


def test_unknown_option_is_a_usage_error():
    done = run_script("--bogus")
    assert done.returncode == 2
    assert done.stderr.strip() == "build-and-test: unknown option --bogus (see --help)"


def test_machine_without_engine_or_apt_gets_exit_77(tmp_path):
    """No docker, no buildah and no apt-get on PATH: the script says why and exits 77 (skip)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "mktemp", "id", "rm", "date", "sed", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = subprocess.run([str(bin_dir / "bash"), str(SCRIPT)], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 77, done.stderr
    assert "CANNOT RUN HERE" in done.stderr
    assert "buildah" in done.stderr
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("bridge-image.")]
    assert leftovers == []  # its temporary directory is removed on the way out


LISTING = """\
global.index-url='https://proxy.example/simple file:///opt/local/simple'
global.extra-index-url='file:///opt/only-local'
global.find-links='/opt/wheels'
global.cert='{cert}'
global.timeout='60'
global.trusted-host='proxy.example'
:env:.timeout='120'
"""


def test_pip_settings_keep_only_what_works_inside_a_container(tmp_path):
    cert = tmp_path / "corp-ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
    listing = tmp_path / "listing"
    listing.write_text(LISTING.format(cert=cert))
    out_conf, out_ca = tmp_path / "pip.conf", tmp_path / "ca.crt"
    assert host_settings.main(["pip-conf", str(listing), str(out_conf), str(out_ca)]) == 0
    lines = out_conf.read_text().splitlines()
    assert lines == ["[global]", "index-url = https://proxy.example/simple", "timeout = 120",
                     "trusted-host = proxy.example"]
    assert out_ca.read_text() == cert.read_text()


def test_ca_bundle_falls_back_through_the_environment(tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("x")
    assert host_settings.ca_bundle(None, {"SSL_CERT_FILE": str(bundle)}) == str(bundle)
    assert host_settings.ca_bundle(str(tmp_path / "missing.pem"), {"PIP_CERT": str(bundle)}) == str(bundle)


@pytest.mark.parametrize("text, expected", [
    ("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
     "Types: deb\nURIs: http://mirror.example/debian-security/\nSuites: bookworm-security\n",
     ("http://mirror.example/debian", "http://mirror.example/debian-security")),
    ("deb [signed-by=/k.gpg] https://packages.example/apt stable main\n"
     "deb http://ftp.example.org/debian/ bookworm main\n",
     ("http://ftp.example.org/debian", None)),
    ("deb https://packages.example/apt stable main\n", ("http://deb.debian.org/debian", None)),
])
def test_debian_mirror_from_apt_sources(tmp_path, text, expected):
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "a.sources").write_text(text)
    (sources / "ignored.list.disabled").write_text("deb http://other.example/debian bookworm main\n")
    assert host_settings.debian_mirrors([str(sources)]) == expected
