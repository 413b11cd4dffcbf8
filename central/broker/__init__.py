"""The fleet's Mosquitto, devices by client certificate: the example configuration this folder ships.

``pishkhan.conf`` (for ``/etc/mosquitto/conf.d/``), ``pishkhan.acl`` and
``pishkhan-devices.acl`` are written by :func:`example_files` from :mod:`pishkhan.protocol.topics`
(:func:`~pishkhan.protocol.topics.mosquitto_certificate_config`,
:func:`~pishkhan.protocol.topics.mosquitto_acl`), the same functions the
tests' broker runs with; ``tests/central/test_revocation.py`` checks the
shipped files are what they write, so the two cannot drift. docs/broker.md
says how to install them.
"""

from __future__ import annotations

from pathlib import Path

from pishkhan.protocol.topics import DEFAULT_ROOT, mosquitto_acl, mosquitto_certificate_config

HERE = Path(__file__).parent
#: Where the example puts things on the centre's broker host.
ETC = Path("/etc/mosquitto")
#: The CA's folder is 0700 (its key): the broker reads copies of ``ca.pem`` and the CRL here, where
#: ``pishkhan central devices revoke --crl`` writes the CRL.
CERTS = ETC / "certs"


def fleet_config(*, devices=("0.0.0.0", 8883), centre=("10.0.0.1", 1884), cafile=CERTS / "pishkhan-ca.pem",
                 crlfile=CERTS / "pishkhan-crl.pem", certfile=CERTS / "broker.pem", keyfile=CERTS / "broker.key",
                 centre_passwords=ETC / "centre-passwords", acl_file=ETC / "pishkhan.acl",
                 device_acl_file=ETC / "pishkhan-devices.acl") -> str:
    """The broker's ``mosquitto.conf`` lines for the fleet: devices by certificate, the centre by password."""
    head = ["# Pishkhan fleet broker (written by central.broker.fleet_config; see docs/broker.md).",
            "# Devices: client certificate from the centre's CA, CN = device id = username = client id.", ""]
    return "\n".join(head + mosquitto_certificate_config(
        devices=tuple(devices), centre=tuple(centre), cafile=cafile, crlfile=crlfile, certfile=certfile,
        keyfile=keyfile, centre_passwords=centre_passwords, acl_file=acl_file, device_acl_file=device_acl_file))


def example_files(root: str = DEFAULT_ROOT) -> dict[str, str]:
    """The shipped example files by name: ``pishkhan.conf``, ``pishkhan.acl`` (the centre's listener) and
    ``pishkhan-devices.acl`` (the devices' listener: no centre account there)."""
    return {"pishkhan.conf": fleet_config(), "pishkhan.acl": mosquitto_acl(root),
            "pishkhan-devices.acl": mosquitto_acl(root, centre_users=())}


def write_examples():
    """Rewrite the shipped example files (after a change to the functions that write them)."""
    for name, text in example_files().items():
        (HERE / name).write_text(text)
