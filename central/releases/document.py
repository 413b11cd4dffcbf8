"""The release document (``pishkhan.release/1``, docs/updates.md): built by the centre, checked before signing.

:func:`build` makes the payload of one rollout's document; :func:`check`
refuses what a device would refuse for its form (:exc:`~central.errors.NotPublished`
``invalid``), so a mistake never reaches the fleet. The devices check
everything again (pishkhan/releases), the signature and the key's scope too.
"""

from __future__ import annotations

import datetime as dt
import re

from central.errors import NotPublished

FORMAT = "pishkhan.release/1"
MAX_VERSION = 2**31 - 1
#: The longest a document may live after its ``not_before``.
MAX_LIFETIME = dt.timedelta(days=90)
ROLLOUT_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
ISO_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
PACKAGE_FIELD = re.compile(r"[A-Za-z0-9.+~:_-]{1,128}")
SCOPE_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
KEYS = {"format", "issuer", "version", "scope", "rollout", "package", "not_before", "expires", "window",
        "canary_percent", "min_version_to_upgrade_from", "rollback", "urgent", "halted"}
PACKAGE_KEYS = {"name", "version", "architecture", "sha256", "size", "path"}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def scope_object(scope_key: str) -> dict:
    """``national`` / ``province:23`` / ``office:X`` / ``device:Y`` as the document's ``scope`` object."""
    level, _, value = scope_key.partition(":")
    if scope_key == "national":
        return {"level": "national"}
    if level in ("province", "office", "device") and SCOPE_ID.fullmatch(value):
        return {"level": level, level: value}
    raise NotPublished(f"--scope must be national, province:CODE, office:ID or device:ID, got {scope_key!r}",
                       reason="wrong_scope")


def scope_key(scope) -> str | None:
    """The scope key of a document's ``scope`` object, or None when it names none."""
    if not isinstance(scope, dict):
        return None
    level = scope.get("level")
    if level == "national" and set(scope) == {"level"}:
        return "national"
    if level in ("province", "office", "device") and set(scope) == {"level", level} \
            and isinstance(scope[level], str) and SCOPE_ID.fullmatch(scope[level]):
        return f"{level}:{scope[level]}"
    return None


def build(*, issuer: str, version: int, scope: str, rollout: str, package, not_before: dt.datetime,
          expires: dt.datetime, window: tuple[str, str], canary_percent: float, min_from: str = "0",
          rollback: bool = False, urgent: bool = False, halted: bool = False) -> dict:
    """The payload of a release document for *package* (a :class:`central.releases.pool.Package`), checked."""
    document = {
        "format": FORMAT, "issuer": issuer, "version": version, "scope": scope_object(scope), "rollout": rollout,
        "package": {"name": package.name, "version": package.version, "architecture": package.architecture,
                    "sha256": package.sha256, "size": package.size, "path": package.path},
        "not_before": iso(not_before), "expires": iso(expires),
        "window": {"start": window[0], "end": window[1]},
        "canary_percent": canary_percent, "min_version_to_upgrade_from": min_from,
        "rollback": rollback, "urgent": urgent, "halted": halted,
    }
    check(document)
    return document


def _invalid(message: str) -> NotPublished:
    return NotPublished(f"the release document breaks its form: {message}", reason="invalid")


def check(document: dict):
    """Refuse (``invalid``) a release payload a device would refuse for its form."""
    if not isinstance(document, dict):
        raise _invalid("not an object")
    if set(document) != KEYS:
        raise _invalid(f"its keys must be exactly {sorted(KEYS)}; missing {sorted(KEYS - set(document))}, "
                       f"unknown {sorted(set(document) - KEYS)}")
    if document["format"] != FORMAT:
        raise _invalid(f"format must be {FORMAT}")
    if not isinstance(document["issuer"], str) or not 0 < len(document["issuer"]) <= 120:
        raise _invalid("issuer: text of 1-120 characters")
    version = document["version"]
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise _invalid(f"version: a whole number 1..{MAX_VERSION}")
    if scope_key(document["scope"]) is None:
        raise _invalid("scope: national, or a province, office or device (an id of 1-32 of A-Za-z0-9._-)")
    if not isinstance(document["rollout"], str) or not ROLLOUT_ID.fullmatch(document["rollout"]):
        raise _invalid("rollout: 1-32 of A-Za-z0-9._-")
    package = document["package"]
    if not isinstance(package, dict) or set(package) != PACKAGE_KEYS:
        raise _invalid(f"package: an object of exactly {sorted(PACKAGE_KEYS)}")
    for key in ("name", "version", "architecture"):
        if not isinstance(package[key], str) or not PACKAGE_FIELD.fullmatch(package[key]):
            raise _invalid(f"package.{key}: a Debian {key}")
    if not isinstance(package["sha256"], str) or not SHA256.fullmatch(package["sha256"]):
        raise _invalid("package.sha256: 64 lowercase hex digits")
    if type(package["size"]) is not int or package["size"] <= 0:
        raise _invalid("package.size: a positive whole number of bytes")
    if package["path"] != f"releases/pool/{package['sha256']}.deb":
        raise _invalid("package.path: releases/pool/<sha256>.deb")
    times = []
    for key in ("not_before", "expires"):
        if not isinstance(document[key], str) or not ISO_Z.fullmatch(document[key]):
            raise _invalid(f"{key}: a UTC time YYYY-MM-DDTHH:MM:SSZ")
        try:
            times.append(dt.datetime.fromisoformat(document[key][:-1]))
        except ValueError:
            raise _invalid(f"{key}: {document[key]} is not a time") from None
    if not times[0] < times[1] <= times[0] + MAX_LIFETIME:
        raise _invalid(f"expires: after not_before and at most {MAX_LIFETIME.days} days after it")
    window = document["window"]
    if not isinstance(window, dict) or set(window) != {"start", "end"} or not all(
            isinstance(window[k], str) and HHMM.fullmatch(window[k]) for k in ("start", "end")):
        raise _invalid("window: {start, end} as HH:MM (Tehran time)")
    canary = document["canary_percent"]
    if type(canary) not in (int, float) or not 0 <= canary <= 100 or round(canary, 2) != canary:
        raise _invalid("canary_percent: a number 0..100 with at most 2 decimals")
    if not isinstance(document["min_version_to_upgrade_from"], str) \
            or not PACKAGE_FIELD.fullmatch(document["min_version_to_upgrade_from"]):
        raise _invalid("min_version_to_upgrade_from: a Debian version")
    for key in ("rollback", "urgent", "halted"):
        if type(document[key]) is not bool:
            raise _invalid(f"{key}: true or false")
