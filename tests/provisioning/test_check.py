"""``pishkhan provision check``: every check passing and failing through the fake machine, the
real machine's readings (TLS handshakes to a real local TLS server, DRM connectors from a
laid-out /sys, one whole run on this machine), the command's exit codes and JSON, and the
fact it records in the store."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import pathlib
import re
import socket
import ssl
import threading
import xml.etree.ElementTree as ET

import pytest
from cli_runner import run as run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import cli.main
from pishkhan.config import parse_config
from pishkhan.hardware.health import decode_throttled
from pishkhan.store.database import Store
from provisioning import check_strings
from provisioning.check import (CHECKS, FACT_COMPONENT, Reason, Severity, record_report, run_checks)
from provisioning.machine import FakeMachine, RealMachine, TlsOutcome

NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)
CERT, KEY, CA = "/etc/pishkhan/device.crt", "/etc/pishkhan/device.key", "/etc/pishkhan/ca.crt"
JSON_KEYS = {"name", "ok", "severity", "reason", "message_fa", "message_en", "fix_fa", "fix_en", "detail"}


# -- certificates ------------------------------------------------------------------------------

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(cn, *, issuer=None, days=90, start=NOW - dt.timedelta(days=1), ca=False, san=None):
    """An EC key and a certificate valid from *start* for *days*, signed by *issuer* (key, cert) or itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_key, issuer_cert = issuer or (key, None)
    builder = (x509.CertificateBuilder().subject_name(_name(cn))
               .issuer_name(issuer_cert.subject if issuer_cert else _name(cn)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(start + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return key, builder.sign(issuer_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def ca():
    return make_cert("Pishkhan test CA", ca=True, days=3650, start=NOW - dt.timedelta(days=400))


@pytest.fixture(scope="module")
def device(ca):
    return make_cert("dev-0001", issuer=ca)


def enrolled_files(device, ca, **override):
    key, cert = device
    return {CERT: pem(cert), KEY: pem_key(key), CA: pem(ca[1])} | override


# -- configuration and machine -----------------------------------------------------------------

def device_config(tmp_path, *, outputs=("DSI-1", "HDMI-A-1"), **sections):
    """An enrolled device's configuration; the screens' outputs are set whether or not this
    version of the settings table declares them (the checks read them with a fallback);
    *outputs* None: a configuration without the settings."""
    data = {"device": {"state_dir": str(tmp_path / "state")},
            "printer": {"uri": "lp:/dev/pishkhan-printer"},
            "mqtt": {"url": "mqtts://broker.example.ir:8883", "cert_file": CERT, "key_file": KEY, "ca_file": CA}}
    for section, values in sections.items():
        data[section] = data.get(section, {}) | values
    cfg = parse_config(data)
    if outputs is None:
        cfg.data["kiosk"].pop("output", None)
        cfg.data["display"].pop("output", None)
    else:
        cfg.data["kiosk"]["output"], cfg.data["display"]["output"] = outputs
    return cfg


@pytest.fixture
def healthy(device, ca):
    return FakeMachine(clock=NOW, files=enrolled_files(device, ca))


def result(report, name):
    return next(r for r in report.results if r.name == name)


def test_a_healthy_device_passes_every_check_and_can_open(tmp_path, healthy):
    report = run_checks(config=device_config(tmp_path), machine=healthy)
    assert [r.name for r in report.results] == [c.name for c in CHECKS]
    assert all(r.ok for r in report.results), [r.line() for r in report.results if not r.ok]
    assert report.can_open
    assert healthy.handshakes == [("broker.example.ir", 8883, CA, CERT, KEY)]
    assert result(report, "enrolment").outcome.detail["days_left"] == 89
    assert result(report, "kiosk_screen").outcome.detail["output"] == "DSI-1"


def _other_key_cert(ca):
    return pem(make_cert("dev-0001", issuer=ca)[1])


# (what is broken: a function of (machine, ca) and the config's changes) → (check, reason, severity)
BROKEN = {
    "no raqm": (lambda m, ca: setattr(m, "raqm", False), {}, "shaping", Reason.RAQM_MISSING, "blocker"),
    "no fribidi": (lambda m, ca: setattr(m, "fribidi", False), {}, "shaping", Reason.FRIBIDI_MISSING, "blocker"),
    "no font": (lambda m, ca: setattr(m, "font_file", None), {}, "fonts", Reason.FONT_MISSING, "blocker"),
    "no user": (lambda m, ca: m.users.clear(), {}, "groups", Reason.SERVICE_USER_MISSING, "blocker"),
    "not in video": (lambda m, ca: m.users.update(pishkhan=frozenset({"pishkhan", "render", "input", "lp", "gpio",
                                                                      "audio", "dialout"})),
                     {}, "groups", Reason.GROUPS_MISSING, "blocker"),
    "not in gpio": (lambda m, ca: m.users.update(pishkhan=frozenset({"video", "render", "input", "lp", "audio",
                                                                     "dialout"})),
                    {}, "groups", Reason.GROUPS_MISSING, "warning"),
    "fake printer": (None, {"printer": {"uri": "fake"}}, "printer", Reason.PRINTER_NOT_CONFIGURED, "warning"),
    "bad printer uri": (lambda m, ca: setattr(m, "printer", "bad_uri"), {}, "printer", Reason.PRINTER_BAD_URI,
                        "blocker"),
    "printer offline": (lambda m, ca: setattr(m, "printer", "offline"), {}, "printer", Reason.PRINTER_UNREACHABLE,
                        "blocker"),
    "paper out": (lambda m, ca: setattr(m, "printer", "paper_out"), {}, "printer", Reason.PRINTER_PAPER_OUT,
                  "blocker"),
    "cover open": (lambda m, ca: setattr(m, "printer", "cover_open"), {}, "printer", Reason.PRINTER_COVER_OPEN,
                   "blocker"),
    "paper near end": (lambda m, ca: setattr(m, "printer", "paper_near_end"), {}, "printer",
                       Reason.PRINTER_PAPER_NEAR_END, "warning"),
    "no drm": (lambda m, ca: setattr(m, "connectors", None), {}, ("kiosk_screen", "display_screen"),
               Reason.DRM_UNAVAILABLE, "blocker"),
    "touchscreen unplugged": (lambda m, ca: m.connectors.update({"DSI-1": "disconnected"}), {}, "kiosk_screen",
                              Reason.SCREEN_DISCONNECTED, "blocker"),
    "touchscreen output absent": (lambda m, ca: m.connectors.pop("DSI-1"), {}, "kiosk_screen",
                                  Reason.SCREEN_MISSING, "blocker"),
    "tv unplugged": (lambda m, ca: m.connectors.update({"HDMI-A-1": "disconnected"}), {}, "display_screen",
                     Reason.SCREEN_DISCONNECTED, "warning"),
    "tv output absent": (lambda m, ca: m.connectors.pop("HDMI-A-1"), {}, "display_screen", Reason.SCREEN_MISSING,
                         "warning"),
    "clock unsynced": (lambda m, ca: setattr(m, "synced", False), {}, "clock", Reason.CLOCK_NOT_SYNCED, "warning"),
    "clock unknown": (lambda m, ca: setattr(m, "synced", None), {}, "clock", Reason.CLOCK_UNKNOWN, "warning"),
    "not enrolled": (None, {"mqtt": {"cert_file": "", "key_file": ""}}, "enrolment", Reason.NOT_ENROLLED, "blocker"),
    "certificate gone": (lambda m, ca: m.files.pop(CERT), {}, "enrolment", Reason.CERTIFICATE_MISSING, "blocker"),
    "key gone": (lambda m, ca: m.files.pop(KEY), {}, "enrolment", Reason.KEY_MISSING, "blocker"),
    "certificate garbage": (lambda m, ca: m.files.update({CERT: b"-----BEGIN CERTIFICATE-----\nxx\n"}), {},
                            "enrolment", Reason.CERTIFICATE_UNREADABLE, "blocker"),
    "key of another certificate": (lambda m, ca: m.files.update({CERT: _other_key_cert(ca)}), {}, "enrolment",
                                   Reason.KEY_MISMATCH, "blocker"),
    "certificate expired": (lambda m, ca: setattr(m, "clock", NOW + dt.timedelta(days=89)), {}, "enrolment",
                            Reason.CERTIFICATE_EXPIRED, "blocker"),
    "certificate expiring": (lambda m, ca: setattr(m, "clock", NOW + dt.timedelta(days=80)), {}, "enrolment",
                             Reason.CERTIFICATE_EXPIRING, "warning"),
    "clock before certificate": (lambda m, ca: setattr(m, "clock", NOW - dt.timedelta(days=2)), {}, "enrolment",
                                 Reason.CERTIFICATE_NOT_YET_VALID, "blocker"),
    "mqtt off": (None, {"mqtt": {"enabled": False}}, "broker", Reason.MQTT_DISABLED, "warning"),
    "broker without tls": (None, {"mqtt": {"url": "mqtt://broker.example.ir:1883"}}, "broker", Reason.BROKER_NOT_TLS,
                           "warning"),
    "broker down": (lambda m, ca: setattr(m, "tls", TlsOutcome("unreachable", "connection refused")), {}, "broker",
                    Reason.BROKER_UNREACHABLE, "warning"),
    "broker refuses": (lambda m, ca: setattr(m, "tls", TlsOutcome("tls_refused", "CERTIFICATE_VERIFY_FAILED")), {},
                       "broker", Reason.BROKER_TLS_REFUSED, "warning"),
    "broker revoked us": (lambda m, ca: setattr(m, "tls", TlsOutcome("revoked", "SSLV3_ALERT_CERTIFICATE_REVOKED")),
                          {}, "broker", Reason.BROKER_CERTIFICATE_REVOKED, "warning"),
    "ca unreadable": (lambda m, ca: setattr(m, "tls", TlsOutcome("ca_unreadable", "no such file")), {}, "broker",
                      Reason.BROKER_CA_UNREADABLE, "warning"),
    "disk full": (lambda m, ca: setattr(m, "disk", (50 * 2**20, 31 * 2**30)), {}, "disk", Reason.DISK_FULL, "blocker"),
    "disk low": (lambda m, ca: setattr(m, "disk", (500 * 2**20, 31 * 2**30)), {}, "disk", Reason.DISK_LOW, "warning"),
    "mmc timeouts": (lambda m, ca: m.kernel.append("mmc0: Timeout waiting for hardware interrupt."), {}, "sd_card",
                     Reason.SD_ERRORS, "warning"),
    "mmc i/o error": (lambda m, ca: m.kernel.append("blk_update_request: I/O error, dev mmcblk0, sector 2048"), {},
                      "sd_card", Reason.SD_ERRORS, "warning"),
    "ext4 errors": (lambda m, ca: setattr(m, "fs_error_count", 3), {}, "sd_card", Reason.FS_ERRORS, "warning"),
    "kernel log unreadable": (lambda m, ca: setattr(m, "kernel", None), {}, "sd_card", Reason.KERNEL_LOG_UNREADABLE,
                              "warning"),
    "under-voltage now": (lambda m, ca: setattr(m, "throttle", decode_throttled(0x50005)), {}, "power",
                          Reason.UNDER_VOLTAGE, "blocker"),
    "under-voltage since boot": (lambda m, ca: setattr(m, "throttle", decode_throttled(0x50000)), {}, "power",
                                 Reason.UNDER_VOLTAGE_OCCURRED, "warning"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_thing_fails_its_own_check_with_its_reason_and_fix(case, tmp_path, healthy, ca):
    breaks, config_changes, name, reason, severity = BROKEN[case]
    if breaks:
        breaks(healthy, ca)
    report = run_checks(config=device_config(tmp_path, **config_changes), machine=healthy)
    bad = [r for r in report.results if not r.ok]
    names = name if isinstance(name, tuple) else (name,)
    assert [r.name for r in bad] == list(names), [r.line() for r in bad]
    r = bad[0]
    assert (r.outcome.reason, r.outcome.severity) == (reason, Severity(severity))
    assert all(other.outcome.reason is reason for other in bad)
    assert report.can_open == (severity == "warning")
    texts = r.texts()
    assert all(texts.values()) and not any("{" in t for t in texts.values()), texts
    assert texts["fix_en"] in r.line() and texts["message_fa"] in r.line()


def test_screens_unnamed_none_and_one_output_for_both(tmp_path, healthy):
    older = run_checks(config=device_config(tmp_path, outputs=None), machine=healthy)  # no such settings yet
    assert result(older, "kiosk_screen").ok  # any connected screen serves the kiosk
    tv = result(older, "display_screen")
    assert (tv.ok, tv.outcome.reason) == (False, Reason.SCREEN_NOT_CONFIGURED) and older.can_open
    healthy.connectors = {"HDMI-A-1": "disconnected", "DSI-1": "disconnected"}
    kiosk = result(run_checks(config=device_config(tmp_path, outputs=None), machine=healthy), "kiosk_screen")
    assert kiosk.outcome.reason is Reason.NO_SCREEN and kiosk.blocks
    only_tv = run_checks(config=device_config(tmp_path, outputs=("", "HDMI-A-1")),
                         machine=FakeMachine(connectors={"HDMI-A-1": "connected"}, files=healthy.files, clock=NOW))
    assert result(only_tv, "kiosk_screen").outcome.reason is Reason.SCREEN_NOT_CONFIGURED and only_tv.can_open
    assert result(only_tv, "display_screen").ok
    neither = run_checks(config=device_config(tmp_path, outputs=("", "")), machine=healthy)
    assert result(neither, "kiosk_screen").outcome.reason is Reason.NO_SCREEN and not neither.can_open
    healthy.connectors = {"HDMI-A-1": "connected"}
    same = run_checks(config=device_config(tmp_path, outputs=("HDMI-A-1", "HDMI-A-1")), machine=healthy)
    assert result(same, "kiosk_screen").ok
    assert result(same, "display_screen").outcome.reason is Reason.SAME_OUTPUT and same.can_open


@pytest.mark.parametrize("state", ["unknown", "busy"])
def test_a_printer_that_is_there_but_silent_or_held_by_the_kiosk_passes(state, tmp_path, healthy):
    healthy.printer = state
    printer = result(run_checks(config=device_config(tmp_path), machine=healthy), "printer")
    assert printer.ok and printer.outcome.detail["state"] == state
    assert printer.outcome.reason is (Reason.PRINTER_STATUS_UNKNOWN if state == "unknown" else Reason.OK)


def test_real_lp_printer_there_gone_and_held(tmp_path):
    machine = RealMachine(state_dir=tmp_path)
    node = tmp_path / "lp0"
    assert machine.printer_state(f"lp:{node}") == "offline"  # unplugged: no device node
    node.write_bytes(b"")
    assert machine.printer_state(f"lp:{node}") == "unknown"  # there and writable
    assert node.read_bytes() == b""  # nothing was sent to it


def test_a_trusted_clock_setting_passes_and_a_check_that_raises_is_a_warning_not_a_crash(tmp_path, healthy):
    healthy.synced = False
    assert result(run_checks(config=device_config(tmp_path, hardware={"clock": "trusted"}), machine=healthy),
                  "clock").ok

    def broken():
        raise RuntimeError("firmware mailbox gone")
    healthy.throttled = broken
    report = run_checks(config=device_config(tmp_path), machine=healthy)
    power = result(report, "power")
    assert (power.ok, power.outcome.reason, power.outcome.severity) == (False, Reason.CHECK_CRASHED, Severity.WARNING)
    assert "firmware mailbox gone" in power.texts()["message_en"] and report.can_open


def test_every_reason_has_its_sentences_and_every_check_its_title():
    assert set(check_strings.MESSAGES) == {r.value for r in Reason}
    assert set(check_strings.TITLES) == {c.name for c in CHECKS}
    for reason, (fa, en, fix_fa, fix_en) in check_strings.MESSAGES.items():
        assert fa and en and any("\u0600" <= ch <= "\u06ff" for ch in fa), reason
        assert bool(fix_fa) == bool(fix_en) == (reason not in ("ok", "not_measured", "printer_status_unknown")), reason


# -- the store ---------------------------------------------------------------------------------

def test_the_result_is_a_fact_in_an_existing_store_and_no_store_is_made(tmp_path, healthy):
    cfg = device_config(tmp_path)
    healthy.printer = "offline"
    report = run_checks(config=cfg, machine=healthy)
    assert "no store" in record_report(report, config=cfg) and not cfg.store_path.exists()
    Store(cfg.store_path).close()
    assert record_report(report, config=cfg) is None
    with Store(cfg.store_path) as store:
        fact = store.last_state(FACT_COMPONENT)
    assert (fact["state"], fact["reason"]) == ("cannot_open", "printer_unreachable")
    assert fact["detail"] == {"blockers": {"printer": "printer_unreachable"}, "warnings": {}}
    cfg.store_path.write_bytes(b"not a database at all" * 100)
    assert "pishkhan" in record_report(report, config=cfg).lower()  # refused, in words, not raised


# -- the command ---------------------------------------------------------------------------------

def run_command(argv, monkeypatch, machine):
    monkeypatch.setattr("provisioning.machine.RealMachine", lambda **kw: machine)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main.main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def write_config(tmp_path, **mqtt):
    path = tmp_path / "config.toml"
    values = {"url": "mqtts://broker.example.ir:8883", "cert_file": CERT, "key_file": KEY, "ca_file": CA} | mqtt
    path.write_text(f'[device]\nstate_dir = "{tmp_path / "state"}"\n[printer]\nuri = "lp:/dev/pishkhan-printer"\n'
                    "[mqtt]\n" + "".join(f'{k} = "{v}"\n' for k, v in values.items()), encoding="utf-8")
    return path


def test_command_exit_status_json_and_human_lines(tmp_path, monkeypatch, healthy):
    path = write_config(tmp_path)
    code, out, _ = run_command(["--config", str(path), "provision", "check", "--json"], monkeypatch, healthy)
    data = json.loads(out)
    assert code == 0 and data["can_open"] is True
    assert set(data) == {"can_open", "checked_at", "checks"}
    assert dt.datetime.fromisoformat(data["checked_at"]) == NOW
    assert [c["name"] for c in data["checks"]] == [c.name for c in CHECKS]
    assert all(set(c) == JSON_KEYS and c["severity"] in ("blocker", "warning") for c in data["checks"])

    healthy.raqm = False
    code, out, _ = run_command(["--config", str(path), "provision", "check"], monkeypatch, healthy)
    header, *lines = out.splitlines()
    assert header.endswith(f"configuration: {path}")
    assert code == 1 and len(lines) == len(CHECKS) + 1 and "the office cannot open" in lines[-1]
    assert lines[0].startswith("FAIL shaping:") and "libraqm" in lines[0] and "apt install libraqm0" in lines[0]
    assert "کتابخانهٔ libraqm" in lines[0] and lines[0].index("کتابخانهٔ") < lines[0].index("libraqm is missing")
    assert not any(line.startswith("FAIL") for line in lines[1:-1])  # the TV may warn: no output named

    monkeypatch.delenv("PISHKHAN_CONFIG", raising=False)
    monkeypatch.setattr("cli.provision.DEVICE_CONFIG", path)  # the device's own file, without --config
    code, out, _ = run_command(["provision", "check"], monkeypatch, healthy)
    assert code == 1 and out.splitlines()[0].endswith(f"configuration: {path}")

    code, out, _ = run_command(["--config", str(path), "provision", "check", "--jsn"], monkeypatch, healthy)
    assert code == 2
    assert run_command(["provision"], monkeypatch, healthy)[0] == 2


def test_check_and_enroll_are_one_group(capsys):
    import cli.main

    with pytest.raises(SystemExit):
        cli.main.main(["provision", "--help"])
    out = capsys.readouterr().out
    assert "check" in out and "enroll" in out


def test_real_machine_whole_run_on_this_machine(tmp_path):
    """No assumption about this machine: every check ends with a result of the right shape."""
    cfg = device_config(tmp_path, outputs=None, printer={"uri": "net:127.0.0.1:9"})
    report = run_checks(config=cfg, machine=RealMachine(state_dir=cfg.state_dir))
    data = report.as_json()
    assert isinstance(data["can_open"], bool) and len(data["checks"]) == len(CHECKS)
    for c in data["checks"]:
        assert set(c) == JSON_KEYS and c["reason"] in {r.value for r in Reason}
        assert c["reason"] != "check_crashed", c
    assert result(report, "printer").outcome.reason is Reason.PRINTER_UNREACHABLE  # nothing listens on port 9
    assert result(report, "enrolment").outcome.reason is Reason.CERTIFICATE_MISSING


def test_the_installed_command_runs_on_this_machine(tmp_path):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    env.pop("PISHKHAN_CONFIG", None)
    proc = run_cli("provision", "check", "--json", env=env, ok=None)
    assert proc.returncode in (0, 1), proc.stderr
    assert set(json.loads(proc.stdout)) == {"can_open", "checked_at", "checks"}


# -- the real machine's readings ---------------------------------------------------------------

def _serve(listener, context):
    """Accept TLS connections on *listener* until it closes; each is held until the client leaves."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn, contextlib.suppress(OSError, ssl.SSLError):
            conn.settimeout(3)
            with context.wrap_socket(conn, server_side=True) as tls:
                while tls.recv(64):
                    pass


@pytest.fixture(scope="module")
def tls_servers(tmp_path_factory):
    """Three TLS servers on loopback ports with a certificate from their own CA, the second
    requiring a client certificate from another CA, the third the same with a CRL that revokes the
    client's certificate (as the fleet's Mosquitto after `devices revoke`); yields their ports and the files."""
    now = dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(days=1)
    folder = tmp_path_factory.mktemp("tls")
    server_ca = make_cert("broker CA", ca=True, start=start)
    client_ca = make_cert("device CA", ca=True, start=start)
    key, cert = make_cert("localhost", issuer=server_ca, start=start, san="localhost")
    client_key, client_cert = make_cert("dev-0001", issuer=client_ca, start=start)
    files = {"server": pem(cert) + pem_key(key), "ca": pem(server_ca[1]), "client_ca": pem(client_ca[1]),
             "other": pem(make_cert("other CA", ca=True, start=start)[1]),
             "client_crt": pem(client_cert), "client_key": pem_key(client_key),
             "crl": x509.CertificateRevocationListBuilder().issuer_name(client_ca[1].subject).last_update(start)
             .next_update(now + dt.timedelta(days=30)).add_revoked_certificate(
                 x509.RevokedCertificateBuilder().serial_number(client_cert.serial_number).revocation_date(start)
                 .build()).sign(client_ca[0], hashes.SHA256()).public_bytes(serialization.Encoding.PEM)}
    paths = {}
    for name, data in files.items():
        paths[name] = str(folder / f"{name}.pem")
        (folder / f"{name}.pem").write_bytes(data)
    listeners = []
    for require_client, crl in ((False, False), (True, False), (True, True)):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(paths["server"])
        if require_client:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(paths["client_ca"])
        if crl:
            context.load_verify_locations(paths["crl"])
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=_serve, args=(listener, context), daemon=True).start()
        listeners.append(listener)
    yield [lst.getsockname()[1] for lst in listeners], paths
    for listener in listeners:
        listener.close()


def test_real_tls_handshake_ok_refused_and_nobody_listening(tls_servers, tmp_path, monkeypatch):
    (plain, mutual, revoking), f = tls_servers
    monkeypatch.setattr("provisioning.machine.POST_HANDSHAKE_WAIT", 0.2)  # loopback answers at once
    machine = RealMachine(state_dir=tmp_path)

    def shake(port, ca, cert="", key=""):
        return machine.tls_handshake("localhost", port, ca_file=ca, cert_file=cert, key_file=key, timeout=3).outcome
    assert shake(plain, f["ca"]) == "ok"
    assert shake(plain, f["other"]) == "tls_refused"  # the broker's certificate is not from the pinned CA
    assert shake(mutual, f["ca"], f["client_crt"], f["client_key"]) == "ok"
    assert shake(mutual, f["ca"]) == "tls_refused"  # no client certificate: refused after the handshake
    assert shake(revoking, f["ca"], f["client_crt"], f["client_key"]) == "revoked"  # the CRL lists us
    assert shake(plain, str(tmp_path / "absent.pem")) == "ca_unreadable"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert shake(closed, f["ca"]) == "unreachable"


def test_real_drm_connectors_from_sys(tmp_path):
    drm = tmp_path / "sys/class/drm"
    for name, status in (("card1-HDMI-A-1", "connected"), ("card1-HDMI-A-2", "disconnected"), ("card0-DSI-1", None)):
        (drm / name).mkdir(parents=True)
        if status:
            (drm / name / "status").write_text(status + "\n")
    (drm / "card1").mkdir()
    (drm / "version").write_text("drm 1.1.0\n")
    machine = RealMachine(state_dir=tmp_path, root=str(tmp_path))
    assert machine.drm_connectors() == {"DSI-1": "unknown", "HDMI-A-1": "connected", "HDMI-A-2": "disconnected"}
    assert RealMachine(state_dir=tmp_path, root=str(tmp_path / "nowhere")).drm_connectors() is None


# -- the install and operations docs ---------------------------------------------------------------

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
#: BCM GPIO number → physical pin of the 40-pin header.
PHYSICAL = {2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 0: 27, 5: 29, 6: 31, 13: 33, 19: 35,
            26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22, 8: 24, 7: 26, 1: 28, 12: 32, 16: 36, 20: 38, 21: 40}


def test_the_install_guide_pin_table_and_picture_follow_the_default_configuration():
    from pishkhan.config import COUNTERS, SETTINGS

    defaults = {s.name: s.default for s in SETTINGS if s.section == "hardware" and s.key.endswith("_pin")}
    for i, row in enumerate(COUNTERS.defaults):
        defaults |= {f"counters[{i}].button_pin": row["button_pin"], f"counters[{i}].led_pin": row["led_pin"]}
    guide = (DOCS / "install-on-pi.md").read_text(encoding="utf-8")
    table = dict((name, (int(bcm), int(pin))) for name, bcm, pin in
                 re.findall(r"\| `([a-z_\[\]0-9.]+_pin)` \| GPIO (\d+) \| (\d+) \|", guide))
    assert table == {name: (bcm, PHYSICAL[bcm]) for name, bcm in defaults.items()}
    picture = (DOCS / "images" / "gpio-header.svg").read_text(encoding="utf-8")
    ET.fromstring(picture)  # well-formed
    marked = [t for t in re.findall(r'<text [^>]*font-weight="bold">([^<]*)</text>', picture) if "GPIO" in t]
    assert sorted((int(re.search(r"\bGPIO(\d+)\b", t)[1]), int(re.search(r"\bpin (\d+)\b", t)[1]))
                  for t in marked) == sorted(table.values()), "redraw: .venv/bin/python docs/images/gpio_header.py"
    assert "images/gpio-header.svg" in guide


def test_the_docs_link_only_inside_the_repository():
    for name in ("install-on-pi.md", "operations.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            assert "://" not in link and not link.startswith("/"), (name, link)
            target = link.partition("#")[0]
            assert not target or (DOCS / target).resolve().is_file(), (name, link)
