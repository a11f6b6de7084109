"""Host settings that docker/build-and-test passes into an image build (standard library only).

    python3 docker/host_settings.py pip-conf LISTING OUT_CONF OUT_CACERT
        LISTING is the output of `pip config list`; writes the settings that also make sense inside
        a container (index URLs without file:// ones, trusted hosts, timeouts, proxy, binary
        preferences) as one pip.conf, and copies the CA bundle pip uses to OUT_CACERT.
    python3 docker/host_settings.py debian-mirror [SOURCES...]
        prints the first Debian mirror (and, on a second line, the first debian-security mirror if
        any) named in apt sources files (one-line or deb822 format).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Iterable

#: pip settings that make sense inside a container; anything else (find-links, constraints,
#: local paths) only exists on the host
PORTABLE_PIP_KEYS = {"index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout",
                     "retries", "proxy", "pre", "prefer-binary", "only-binary", "no-binary"}
DEFAULT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def portable_pip_settings(listing: Iterable[str]) -> tuple[dict[str, str], str | None]:
    """Parse `pip config list` lines (``scope.key='value'``): portable settings and the cert path."""
    settings: dict[str, str] = {}
    cert = None
    for line in listing:
        match = re.match(r"^([^.]*)\.([^=]+)='(.*)'$", line.strip())
        if not match:
            continue
        key, value = match.group(2), match.group(3)
        if key == "cert":
            cert = value
        elif key in PORTABLE_PIP_KEYS:
            if key.endswith("index-url"):
                value = " ".join(url for url in value.split() if not url.startswith("file:"))
                if not value:
                    continue
            settings[key] = value  # later lines (environment) override earlier ones, as in pip
    return settings, cert


def ca_bundle(cert: str | None, environ: dict[str, str] | os._Environ = os.environ) -> str | None:
    """The CA bundle pip would use: its ``cert`` setting, PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE,
    or Debian's bundle; None when none of them exists."""
    for candidate in (cert, environ.get("PIP_CERT"), environ.get("REQUESTS_CA_BUNDLE"),
                      environ.get("SSL_CERT_FILE"), DEFAULT_CA_BUNDLE):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def write_pip_conf(settings: dict[str, str], path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[global]\n")
        for key, value in settings.items():
            handle.write(f"{key} = {value}\n")


def _source_files(paths: Iterable[str]) -> list[str]:
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith((".list", ".sources")))
        elif os.path.isfile(path):
            files.append(path)
    return files


def debian_mirrors(paths: Iterable[str] = DEFAULT_SOURCES) -> tuple[str, str | None]:
    """First Debian mirror and first debian-security mirror in the apt sources; Debian's default
    mirror when none is found."""
    mirror = security = None
    for path in _source_files(paths):
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = re.match(r"^\s*(?:deb(?:\s+\[[^]]*\])?|URIs:)\s+(\S+)", line)
                if not match:
                    continue
                for uri in match.group(1).split():
                    uri = uri.rstrip("/")
                    if uri.endswith("/debian-security") and security is None:
                        security = uri
                    elif uri.endswith("/debian") and mirror is None:
                        mirror = uri
    return mirror or "http://deb.debian.org/debian", security


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "pip-conf":
        with open(argv[1], encoding="utf-8") as handle:
            settings, cert = portable_pip_settings(handle)
        write_pip_conf(settings, argv[2])
        bundle = ca_bundle(cert)
        if bundle:
            shutil.copyfile(bundle, argv[3])
        else:
            open(argv[3], "w").close()
        return 0
    if argv and argv[0] == "debian-mirror":
        mirror, security = debian_mirrors(argv[1:] or DEFAULT_SOURCES)
        print(mirror)
        if security:
            print(security)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
