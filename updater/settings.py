"""Where the updater reads and writes, and its bounds: the ``[update]`` section of the device's TOML file
(the keys cli and agent share, read with ``tomllib``, drop-ins of ``pishkhan.d/`` merged as the project does),
each overridable by a flag or an environment variable so a test or a chroot can point it anywhere.

Precedence: flag > environment (``PISHKHAN_UPDATE_<NAME>``) > the configuration file > the default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONFIG = "/etc/pishkhan/pishkhan.toml"


class SettingsError(Exception):
    """The configuration or an override cannot be used (exit 2)."""


#: name -> (TOML key in [update] or None, default, kind). The env variable is PISHKHAN_UPDATE_<NAME upper>.
FIELDS = {
    "request": ("request", "/var/lib/pishkhan/update/request.json", Path),
    "journal": ("journal", "/var/lib/pishkhan-update/journal.sqlite", Path),
    "kept": ("kept", "/var/lib/pishkhan-update/kept", Path),
    "repository": ("repository", "", str),
    "ca_file": ("ca_file", "/etc/pishkhan/centre-ca.pem", Path),
    "health_seconds": ("health_seconds", 300, int),
    # Not in the TOML file: the device's layout, overridable for a chroot or a test.
    "state": (None, "", Path),               # default: the journal's folder
    "health_interval": (None, 5, int),
    "version_file": (None, "/usr/lib/pishkhan/VERSION", Path),
    "pishkhan": (None, "/opt/pishkhan/.venv/bin/pishkhan", Path),
    "as_user": (None, "pishkhan", str),     # verify and health run as this user when root ("" = as we are)
    "dpkg": (None, "dpkg", str),            # the dpkg command (words), e.g. "dpkg --root=/x --force-not-root"
}


@dataclass(frozen=True)
class Settings:
    """Everything the updater's parts are built from."""

    config: Path
    request: Path
    journal: Path
    kept: Path
    repository: str
    ca_file: Path
    health_seconds: int
    state: Path
    health_interval: int
    version_file: Path
    pishkhan: Path
    as_user: str
    dpkg: str

    @property
    def requests(self) -> Path:
        """Where each request is copied (``<attempt>.json``)."""
        return self.state / "requests"

    @property
    def downloads(self) -> Path:
        return self.state / "downloads"

    @property
    def lock(self) -> Path:
        return self.state / "lock"


def _read_toml(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise SettingsError(f"{path}: cannot read the configuration: {e}") from None
    folder = path.with_suffix(".d")
    if folder.is_dir():
        for extra in sorted(folder.glob("*.toml")):
            try:
                more = tomllib.loads(extra.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
                raise SettingsError(f"{extra}: cannot read the configuration: {e}") from None
            for section, values in more.items():
                if isinstance(values, dict) and isinstance(data.get(section), dict):
                    data[section] = {**data[section], **values}
                else:
                    data[section] = values
    return data


def _origin(url: str) -> str:
    """scheme://host:port/ of *url* ('' when it is not https)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return ""
    return f"https://{parts.netloc}/"


def load(*, config: str | None = None, overrides: dict | None = None, env=os.environ) -> Settings:
    """The settings from *config* (else ``$PISHKHAN_CONFIG``, else /etc/pishkhan/pishkhan.toml) and *overrides*
    (flag values, None = not given)."""
    overrides = overrides or {}
    path = Path(config or env.get("PISHKHAN_CONFIG") or CONFIG)
    data = _read_toml(path)
    section = data.get("update", {})
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: [update] is not a section")
    values = {}
    for name, (key, default, kind) in FIELDS.items():
        value = overrides.get(name)
        if value is None:
            value = env.get(f"PISHKHAN_UPDATE_{name.upper()}")
        if value is None and key is not None:
            value = section.get(key)
        if value is None:
            value = default
        try:
            values[name] = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name}: {value!r} is not a {kind.__name__}") from None
    if not 1 <= values["health_seconds"] <= 3600:
        raise SettingsError(f"health_seconds: {values['health_seconds']} is not within 1..3600")
    if not 0 <= values["health_interval"] <= 60:
        raise SettingsError(f"health_interval: {values['health_interval']} is not within 0..60")
    if not values["repository"]:
        enrolment = data.get("enrolment", {})
        server = enrolment.get("server", "") if isinstance(enrolment, dict) else ""
        values["repository"] = _origin(server) if isinstance(server, str) else ""
    if values["repository"] and not _origin(values["repository"]):
        raise SettingsError(f"repository: {values['repository']!r} is not an https:// URL")
    if not str(values["state"]) or str(values["state"]) == ".":
        values["state"] = values["journal"].parent
    return Settings(config=path, **values)
