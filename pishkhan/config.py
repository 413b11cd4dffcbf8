"""Device configuration: one TOML file, with every setting defaulted.

The file is found from ``--config FILE``, else ``PISHKHAN_CONFIG``; without
either, the embedded defaults are used.

Every setting is one row of :data:`SETTINGS` (section, key, default, kind,
comment), and the two arrays of tables, ``[[lanes]]`` and ``[[counters]]``,
are described by :data:`LANES` and :data:`COUNTERS` (their fields and their
default rows). Four things are made from these tables and nothing else:

- the commented file ``pishkhan config init`` writes (:func:`default_toml`);
- the validation at start-up and by ``pishkhan config check``
  (:func:`parse_config`);
- ``docs/configuration.md`` (:func:`docs_markdown`, ``pishkhan config docs``;
  a test keeps the committed file equal to it).
- ``pishkhan/settings.py`` (:func:`settings_module`, ``pishkhan config typed``;
  a test keeps it equal too): a frozen class per section, so code reads
  ``config.kiosk.idle_timeout`` and a mistyped key is an unknown attribute.

Validation rules, each refused with the key named and what was expected, all
problems listed together in one :exc:`~pishkhan.exc.ConfigError`:

- an unknown section, key or lane/counter field is refused, with "did you
  mean" when a known name is close;
- types are strict: ``true`` is not a number, ``"5"`` is not a number, a
  whole number is accepted where a decimal one is expected; decimals must be
  finite (no ``nan``, ``inf``);
- every number has a range, every name a list of choices or a pattern;
  lists must be lists (``"id-card"`` is not ``["id-card"]``) of items of the
  right kind;
- text holds no control characters; text that is shown to customers
  (office name, licence, lane titles) also holds no bidi embedding,
  override or isolate controls and has at least one visible character;
- working hours are ``"HH:MM-HH:MM"`` within a day, closing after opening,
  and the shifts of one day do not overlap;
- the cross-field rules of :data:`RULES` (lanes, counters, pins, MQTT).

Files named by the ``[mqtt]`` settings are checked to exist only when the
agent starts (:func:`check_agent_files`), not here: a config is checked on
machines that do not hold the device's keys.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pishkhan.exc import ConfigError
from pishkhan.settings import Sections

DEVICE_STATE_DIR = Path("/var/lib/pishkhan")

#: BCM GPIO numbers a Raspberry Pi's header offers.
GPIO_PINS = (0, 27)


# -- kinds of value -----------------------------------------------------------------

def _show(value) -> str:
    """A short repr for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _close(word, choices) -> str:
    """``; did you mean 'x'?`` when *word* is close to one of *choices*."""
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def text_problem(text: str, *, shown: bool = False) -> str | None:
    """Why *text* may not be a setting's text (None when it may).

    Control characters are never allowed; *shown* text (drawn for customers)
    also may not hold bidi embedding/override/isolate controls and must have
    a visible character.
    """
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            return f"holds the control character U+{ord(ch):04X}"
        if cat == "Cs":
            return f"holds an unpaired surrogate U+{ord(ch):04X}"
        if shown and ch in _BIDI_CONTROLS:
            return f"holds the bidi control U+{ord(ch):04X} ({unicodedata.name(ch, 'bidi control')})"
    if shown and not any(unicodedata.category(ch)[0] not in "CZ" for ch in text):
        return "has no visible character"
    return None


class Kind:
    """What values a setting takes: :meth:`check` lists problems, :meth:`describe` says it in words."""

    def check(self, value, where: str) -> list[str]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Bool(Kind):
    def check(self, value, where):
        if not isinstance(value, bool):
            return [f"{where}: must be bool (true or false), got {_show(value)}"]
        return []

    def describe(self):
        return "true or false"


@dataclass(frozen=True)
class Int(Kind):
    lo: int
    hi: int

    def check(self, value, where):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: must be int (a whole number from {self.lo} to {self.hi}), got {_show(value)}"]
        if not self.lo <= value <= self.hi:
            return [f"{where}: must be from {self.lo} to {self.hi}, got {_show(value)}"]
        return []

    def describe(self):
        return f"whole number, {self.lo}–{self.hi}"


@dataclass(frozen=True)
class Float(Kind):
    lo: float
    hi: float

    def check(self, value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{where}: must be float (a number from {self.lo} to {self.hi}), got {_show(value)}"]
        if isinstance(value, float) and not math.isfinite(value):
            return [f"{where}: must be a finite number from {self.lo} to {self.hi}, got {_show(value)}"]
        if not self.lo <= value <= self.hi:
            return [f"{where}: must be from {self.lo} to {self.hi}, got {_show(value)}"]
        return []

    def describe(self):
        return f"number, {self.lo}–{self.hi}"


@dataclass(frozen=True)
class Text(Kind):
    """A string: at most *max_len* characters, optionally one of *choices*, matching
    *pattern* (with *form* saying it in words), or passing *rule* (returns a problem)."""

    max_len: int = 500
    choices: tuple[str, ...] = ()
    pattern: str = ""
    form: str = ""
    empty: bool = True
    shown: bool = False
    rule: Callable[[str], str | None] | None = None

    def check(self, value, where):
        if not isinstance(value, str):
            return [f"{where}: must be str (text in quotes), got {_show(value)}"]
        if self.choices:
            if value not in self.choices:
                return [f"{where}: must be one of {', '.join(json.dumps(c) for c in self.choices)}, "
                        f"got {_show(value)}{_close(value, self.choices)}"]
            return []
        if value == "":
            return [] if self.empty else [f"{where}: must not be empty"]
        if len(value) > self.max_len:
            return [f"{where}: must be at most {self.max_len} characters, got {len(value)}"]
        problem = text_problem(value, shown=self.shown)
        if problem:
            return [f"{where}: {problem}"]
        if self.pattern and not re.fullmatch(self.pattern, value):
            return [f"{where}: must be {self.form or 'like ' + self.pattern}, got {_show(value)}"]
        if self.rule:
            problem = self.rule(value)
            if problem:
                return [f"{where}: {problem}"]
        return []

    def describe(self):
        if self.choices:
            return "one of " + ", ".join(f"`{json.dumps(c, ensure_ascii=False)}`" for c in self.choices)
        if self.form:
            return self.form + ("" if self.empty else " (not empty)")
        return f"text, up to {self.max_len} characters" + ("" if self.empty else ", not empty")


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind
    min_len: int = 0
    max_len: int = 100
    unique: bool = False

    def check(self, value, where):
        if not isinstance(value, list):
            return [f"{where}: must be a list [...] of {self.item.describe()}, got {_show(value)}"]
        if not self.min_len <= len(value) <= self.max_len:
            return [f"{where}: must have {self.min_len} to {self.max_len} items, got {len(value)}"]
        errors = []
        for i, item in enumerate(value):
            errors += self.item.check(item, f"{where}[{i}]")
        if not errors and self.unique:
            seen = set()
            for item in value:
                if item in seen:
                    errors.append(f"{where}: {_show(item)} is listed twice")
                seen.add(item)
        return errors

    def describe(self):
        n = (f"exactly {self.min_len}" if self.min_len == self.max_len else
             f"{self.min_len}–{self.max_len}" if self.min_len else f"up to {self.max_len}")
        return f"list of {n} items, each {self.item.describe()}" + (", no repeats" if self.unique else "")


class Shifts(Kind):
    """A day's shifts: ``["07:30-12:00", "16:00-19:00"]``, in a day, not overlapping."""

    def check(self, value, where):
        errors = ListOf(Text(max_len=40), max_len=4).check(value, where)
        if errors:
            return errors
        from pishkhan.schedule.hours import parse_span

        spans = []
        for i, text in enumerate(value):
            try:
                spans.append((*parse_span(text), text))
            except ConfigError as e:
                errors.append(f"{where}[{i}]: {e}")
        spans.sort()
        for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
            if start < end:
                errors.append(f"{where}: shifts {a!r} and {b!r} overlap")
        return errors

    def describe(self):
        return 'list of up to 4 shifts `"HH:MM-HH:MM"`, not overlapping; `[]` = closed'


def _clock_time(text: str) -> str | None:
    m = re.fullmatch(r"(\d\d):(\d\d)", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return f'must be a time of day "HH:MM" (00:00 to 23:59), or empty, got {text!r}'
    return None


_PRINTER_FORMS = (r"fake", r"file:.+", r"usb:(0[xX])?[0-9A-Fa-f]{1,4}:(0[xX])?[0-9A-Fa-f]{1,4}", r"lp:.+",
                  r"serial:.+", r"net:[^:\s]+(:\d{1,5})?")


def _printer_uri(uri: str) -> str | None:
    if not any(re.fullmatch(form, uri.strip()) for form in _PRINTER_FORMS):
        return (f"unknown printer URI {uri!r}; expected fake, file:PATH, usb:VID:PID, lp:/dev/usb/lp0, "
                "serial:/dev/ttyUSB0[:BAUD] or net:HOST[:9100]")
    port = re.fullmatch(r"net:[^:]+:(\d+)", uri.strip())
    if port and not 1 <= int(port.group(1)) <= 65535:
        return f"printer URI {uri!r}: port must be from 1 to 65535"
    return None


_MQTT_URL = re.compile(r"(mqtts?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?/?")


def _mqtt_url(url: str) -> str | None:
    m = _MQTT_URL.fullmatch(url)
    if not m:
        return f"must look like mqtt://host:port or mqtts://host:port, or be empty, got {url!r}"
    if m.group(3) and not 1 <= int(m.group(3)) <= 65535:
        return f"port must be from 1 to 65535, got {m.group(3)}"
    return None


def _audio(text: str) -> str | None:
    if text in ("auto", "none") or (text.startswith("file:") and len(text) > 5):
        return None
    return f'must be "auto", "none" or "file:PATH", got {text!r}{_close(text, ("auto", "none"))}'


# -- the table --------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """One setting: ``[section] key = default``, the values it takes, and what it does."""

    section: str
    key: str
    default: object
    kind: Kind
    comment: str

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


#: Sections in file order, each with the comment written above it.
SECTIONS = {
    "device": "This device.",
    "office": "The office, as shown to customers and as named in boards.",
    "hours": "Working hours (Asia/Tehran), until a signed schedule arrives from the province.",
    "queue": "Queue rules.",
    "hardware": "GPIO and health readings.",
    "printer": "The ticket printer.",
    "kiosk": "The customer touchscreen.",
    "display": "The wall display.",
    "mqtt": "The edge agent's connection to the centre's MQTT broker.",
    "compliance": "Working-hours compliance: how long a fault lasts before it is an event.",
    "centre": "The centre's public services.",
    "enrolment": "Enrolment with the centre (written by `pishkhan provision enroll` to pishkhan.d/enrolment.toml).",
    "update": "Fleet updates: where packages come from and the files the agent and the root updater share\n"
              "(docs/updates.md). The updater reads these same keys from this file.",
}

_WEEK = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
_MINUTES = Int(0, 240)
_PIN = Int(*GPIO_PINS)
_PATH = Text(max_len=4096)
_OUTPUT = Text(pattern=r"[A-Za-z]+(-[A-Za-z])?-[0-9]{1,2}", form='a DRM connector name like "HDMI-A-1" or "DSI-1", or ""')

S = Setting
#: Every setting of the file except the lanes and counters, in file order.
SETTINGS: tuple[Setting, ...] = (
    S("device", "id", "dev-0001", Text(pattern=r"[A-Za-z0-9._-]{1,64}", form="1-64 letters, digits, '.', '_' or '-'",
                                       empty=False),
      "Unique id of this device, as enrolled with the centre."),
    S("device", "state_dir", "", _PATH,
      "Folder holding the local store and caches. Empty: PISHKHAN_STATE_DIR, else\n"
      "/var/lib/pishkhan on a device, else ~/.local/share/pishkhan."),

    S("office", "name", "دفتر پیشخوان خدمات دولت شماره ۱۲۳۴", Text(max_len=120, empty=False, shown=True),
      "Shown in the header of the board and on tickets."),
    S("office", "licence", "۲۳-۱۲۳۴", Text(max_len=40, shown=True), "The office's licence number, shown on the board."),
    S("office", "office_id", "23-1234", Text(pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", empty=False,
                                             form="1-32 letters, digits, '.', '_' or '-'"),
      "Office code as used in office-scope boards."),
    S("office", "province", "23", Text(pattern=r"[0-9]{1,3}", form="the province code, 1-3 digits", empty=False),
      "Province code, as used in province-scope boards."),
    S("office", "currency_unit", "rial", Text(choices=("rial", "toman")),
      'Currency shown to customers: "rial" or "toman". Amounts are stored in rials.'),
    S("office", "allow_priority", True, Bool(),
      "Whether customers may take priority tickets (elderly, disabled, veterans)."),

    S("hours", "always_open", False, Bool(), "true: the office is open at every minute (demos and tests)."),
    *(S("hours", day, [] if day == "friday" else ["07:30-12:30"] if day == "thursday" else ["07:30-14:30"], Shifts(),
        "Weekly hours until a signed schedule arrives from the province.\n"
        "Keys are English weekday names; an empty list means closed that day." if day == "saturday" else "")
      for day in _WEEK),
    S("hours", "cutoff_margin_minutes", 10, _MINUTES,
      "No ticket is issued when the estimated call time is later than closing\ntime minus this many minutes."),

    S("queue", "normal_per_priority", 2, Int(0, 100),
      "At most this many normal tickets are called between two priority ones."),
    S("queue", "no_show_after_recalls", 3, Int(0, 20), "A called ticket becomes a no-show after this many recalls."),
    S("queue", "default_service_minutes", 6.0, Float(0.5, 240.0),
      "Starting estimate of minutes per customer, before any are observed."),

    S("hardware", "pin_factory", "", Text(choices=("", "mock", "lgpio", "rpigpio", "pigpio", "native")),
      'gpiozero pin factory: "" lets gpiozero choose (lgpio on a Pi), "mock" fakes pins.'),
    S("hardware", "buzzer_pin", 18, _PIN, "BCM pin of the buzzer."),
    S("hardware", "status_led_pin", 4, _PIN, "BCM pin of the status LED."),
    S("hardware", "hold_seconds", 1.5, Float(0.05, 10.0),
      "A press held this many seconds is a recall rather than a call."),
    S("hardware", "health", "pi", Text(choices=("pi", "fake")), 'Pi health readings: "pi" (real) or "fake".'),
    S("hardware", "clock", "system", Text(choices=("system", "trusted")),
      'Whether the wall clock is synchronised: "system" asks the kernel (adjtimex, as NTP leaves it); '
      '"trusted" takes it as synchronised (a machine whose clock its host keeps, and demos).'),

    S("printer", "uri", "fake", Text(max_len=4096, empty=False, rule=_printer_uri,
                                     form="`fake`, `file:PATH`, `usb:VID:PID`, `lp:DEVICE`, `serial:DEVICE[:BAUD]` "
                                          "or `net:HOST[:PORT]`"),
      "usb:VENDOR:PRODUCT (e.g. usb:0x0416:0x5011), lp:/dev/usb/lp0,\n"
      "serial:/dev/ttyUSB0, net:192.0.2.10:9100, file:PATH (records bytes), fake."),
    S("printer", "paper", "80mm", Text(choices=("80mm", "58mm")), 'Paper width: "80mm" (576 dots) or "58mm" (384 dots).'),

    S("kiosk", "idle_timeout", 60, Int(10, 3600), "Seconds without a touch before the kiosk returns to its start screen."),
    S("kiosk", "staff_timeout", 120, Int(10, 3600), "Seconds without a touch before staff mode closes itself."),
    S("kiosk", "staff_pin_hash", "", Text(max_len=1000),
      "scrypt hash of the staff PIN; set it with `pishkhan kiosk set-pin`.\n"
      "Empty: the PIN is 1234 until one is set (change it before use)."),
    S("kiosk", "language", "fa", Text(choices=("fa", "en")), '"fa" or "en"; customers can switch.'),
    S("kiosk", "text_scale", 1.0, Float(0.5, 3.0), "Text size factor, 1.0 normal; customers can enlarge."),
    S("kiosk", "usb_mount", "/media", _PATH, "Folder where a USB stick is mounted, for board import."),
    S("kiosk", "output", "DSI-1", _OUTPUT,
      'The touchscreen\'s output, as the kernel names it (/sys/class/drm/card*-NAME):\n'
      '"DSI-1" (the Pi\'s touch display), "HDMI-A-1", "HDMI-A-2", ...; "" = this\n'
      "office has no touchscreen (the kiosk's unit does not start). See docs/two-screens.md."),

    S("display", "seconds_per_page", 12, Int(1, 3600), "Seconds each board page is shown on the wall screen."),
    S("display", "screen_power", ["cec", "blank"],
      ListOf(Text(choices=("cec", "blank", "drm", "fake")), max_len=4, unique=True),
      'Screen power backends, tried together: "cec", "blank", "drm", "fake".'),
    S("display", "power_reassert_seconds", 300, Int(10, 86400), "Re-assert the wanted screen state this often (seconds)."),
    S("display", "power_on_before_minutes", 15, _MINUTES,
      "Minutes before opening the screen turns on, and after closing it turns off."),
    S("display", "power_off_after_minutes", 15, _MINUTES, ""),
    S("display", "snapshot_seconds", 300, Int(5, 86400),
      "Proof of display: a snapshot every this many seconds; keep this many."),
    S("display", "snapshot_keep", 12, Int(1, 10000), ""),
    S("display", "voice", "espeak", Text(choices=("espeak", "none")),
      'Spoken calls: "espeak" (espeak-ng, Persian voice) or "none".'),
    S("display", "audio", "auto", Text(max_len=4096, rule=_audio, empty=False,
                                          form='`"auto"`, `"none"` or `"file:PATH"`'),
      'Where announcements play: "auto" (the default sound device through aplay,\n'
      'paplay or sox; visual only when there is none), "none", or "file:PATH"\n'
      "(appends each phrase and its WAV as a JSON line; for tests and demos)."),
    S("display", "cec_device", "/dev/cec0", _PATH,
      "HDMI-CEC device of the wall TV's port (/dev/cec1 for a Pi's second HDMI)."),
    S("display", "orientation", "landscape", Text(choices=("landscape", "portrait")),
      'Wall layout: "landscape" (1920x1080) or "portrait" (1080x1920).'),
    S("display", "output", "HDMI-A-1", _OUTPUT,
      'The wall TV\'s output, as the kernel names it: "HDMI-A-1", "HDMI-A-2", ...;\n'
      '"" = this office has no wall TV (the display\'s unit does not start). While\n'
      "the display runs full screen, a TV unplugged from it is recorded as `display off`."),

    S("mqtt", "enabled", True, Bool(), "Whether the agent connects to the broker at all."),
    S("mqtt", "url", "", Text(max_len=300, rule=_mqtt_url,
                              form="`mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`, or empty"),
      "mqtt://host:port or mqtts://host:port; when set it wins over host, port and tls."),
    S("mqtt", "host", "localhost", Text(max_len=253, pattern=r"[A-Za-z0-9._:-]+|\[[0-9A-Fa-f:.]+\]",
                                        form="a host name or address", empty=False), "Broker host name or address."),
    S("mqtt", "port", 1883, Int(1, 65535), "Broker port (8883 is usual with TLS)."),
    S("mqtt", "protocol", "5", Text(choices=("5", "3.1.1")), 'MQTT version: "5" or "3.1.1".'),
    S("mqtt", "tls", False, Bool(), "Connect with TLS."),
    S("mqtt", "ca_file", "", _PATH, "CA certificate (PEM) to check the broker against; empty: the system's CAs."),
    S("mqtt", "cert_file", "", _PATH, "Client certificate (PEM), with key_file; empty: none."),
    S("mqtt", "key_file", "", _PATH, "Private key (PEM) of the client certificate."),
    S("mqtt", "username", "", Text(max_len=200), "User name at the broker; empty: none. Needs password_file."),
    S("mqtt", "password_file", "", _PATH, "File holding the broker password (first line)."),
    S("mqtt", "client_id", "", Text(pattern=r"[A-Za-z0-9._-]{1,64}",
                                    form="empty, or 1-64 letters, digits, '.', '_' or '-'"),
      "MQTT client id; empty: the device id."),
    S("mqtt", "keepalive", 30, Int(5, 3600), "Keepalive in seconds."),
    S("mqtt", "reconnect_min_seconds", 1.0, Float(0.1, 3600.0),
      "Reconnect backoff: first delay and the most it grows to (seconds), with jitter."),
    S("mqtt", "reconnect_max_seconds", 120.0, Float(1.0, 86400.0), ""),
    S("mqtt", "telemetry_seconds", 60, Int(1, 3600), "Telemetry every this many seconds."),
    S("mqtt", "inflight_window", 20, Int(1, 1000), "At most this many unacknowledged messages handed to the client."),
    S("mqtt", "outbox_max_bytes", 50_000_000, Int(100_000, 10_000_000_000),
      "Outbox bounds: total bytes, and age of the oldest message in days."),
    S("mqtt", "outbox_max_age_days", 14, Int(1, 365), ""),
    S("mqtt", "topic_root", "pishkhan/v1", Text(max_len=100, pattern=r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*",
                                                form="topic levels of letters, digits, '.', '_' or '-' "
                                                     "joined by '/' (no wildcards, no leading or trailing '/')",
                                                empty=False),
      "Root of every topic."),

    S("compliance", "late_opening_minutes", 5, _MINUTES, "Late opening: not serving this many minutes after opening time."),
    S("compliance", "early_closing_minutes", 5, _MINUTES, "Early closing: not serving this many minutes before closing time."),
    S("compliance", "closed_minutes", 5, _MINUTES,
      "Closed during hours (after opening, before the last minutes) this many minutes in a row."),
    S("compliance", "printer_out_minutes", 10, Int(1, 1440), "Printer out this many minutes during hours."),
    S("compliance", "display_off_minutes", 5, Int(1, 1440),
      "Wall display off, or without a verified board, this many minutes during hours."),
    S("compliance", "clock_jump_seconds", 120, Int(1, 86400), "A clock step larger than this (or backwards) is an event."),
    S("compliance", "report_time", "", Text(max_len=5, rule=_clock_time, form='`"HH:MM"`, or empty'),
      'Time of the daily report, "HH:MM"; empty: at closing time.'),

    S("centre", "verify_url", "https://pishkhan.example.ir/verify/",
      Text(max_len=300, pattern=r"https?://[^\s\"'<>]+", form="a URL starting with https:// or http://", empty=False),
      "Base of the public board-verification URL put in board QR codes."),

    S("enrolment", "server", "", Text(max_len=300, pattern=r"https://[^\s\"'<>]+", form="a URL starting with https://"),
      "The centre's enrolment server, where the agent renews the device certificate; empty: no renewal."),

    S("update", "repository", "", Text(max_len=300, pattern=r"https://[^\s\"'<>]+/",
                                        form="a URL starting with https:// and ending with /"),
      "Base of the release pool (https://HOST:PORT/); empty: the enrolment server's scheme, host and port."),
    S("update", "ca_file", "/etc/pishkhan/centre-ca.pem", _PATH, "The centre's CA, pinned for downloading packages."),
    S("update", "request", "/var/lib/pishkhan/update/request.json", Text(max_len=4096, empty=False),
      "The request file the agent writes and pishkhan-update.path watches."),
    S("update", "journal", "/var/lib/pishkhan-update/journal.sqlite", Text(max_len=4096, empty=False),
      "The updater's journal (SQLite); the agent reads it, never writes it."),
    S("update", "kept", "/var/lib/pishkhan-update/kept", Text(max_len=4096, empty=False),
      "Folder of kept packages, one per version known good (the way back)."),
    S("update", "health_seconds", 300, Int(30, 3600), "How long a new version has to come up healthy before it is rolled back."),
    S("update", "guard_minutes", 30, Int(0, 240), "No update starts within this many minutes before opening."),
)
del S


@dataclass(frozen=True)
class Field:
    """One field of a row of ``[[lanes]]`` or ``[[counters]]``; *default* None = may be absent."""

    key: str
    kind: Kind
    comment: str
    required: bool = False


@dataclass(frozen=True)
class TableArray:
    """An array of tables (``[[lanes]]``): its fields, its default rows, and the comment above them."""

    name: str
    fields: tuple[Field, ...]
    defaults: tuple[dict, ...]
    comment: str
    min_rows: int = 1
    max_rows: int = 50

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


_CODE = Text(pattern=r"[A-Za-z0-9_-]{1,16}", form="1-16 letters, digits, '_' or '-'", empty=False)

LANES = TableArray(
    "lanes",
    (Field("code", _CODE, "Lane code, named by counters.", required=True),
     Field("title", Text(max_len=80, empty=False, shown=True), "Shown to customers; default: the code."),
     Field("prefix", Text(pattern=r"[A-Z]", form="one capital letter A-Z", empty=False),
           "Tickets A001, A002 …; give prefix or range, not both."),
     Field("range", ListOf(Int(1, 999_999), min_len=2, max_len=2), "Tickets numbered first … last, e.g. [101, 499]."),
     Field("categories", ListOf(Text(max_len=64, empty=False), min_len=1, unique=True),
           'Board category codes this lane takes; ["*"] takes the rest. Default ["*"].')),
    ({"code": "A", "title": "کارت ملی، گذرنامه و گواهینامه", "prefix": "A", "categories": ["id-card", "passport", "driving"]},
     {"code": "B", "title": "خودرو و خدمات قضایی", "range": [101, 499], "categories": ["vehicle", "judicial"]},
     {"code": "C", "title": "سایر خدمات", "prefix": "C", "categories": ["*"]}),
    "Lanes: every service belongs to one lane. A lane numbers its tickets with a\n"
    "prefix letter (A001) or inside a number range (101-499). \"categories\" lists\n"
    'board category codes; a lane with categories = ["*"] takes the rest.',
)

COUNTERS = TableArray(
    "counters",
    (Field("number", Int(1, 99), "Counter number, shown and spoken in calls.", required=True),
     Field("lanes", ListOf(_CODE, min_len=1, unique=True), "Lane codes it serves, in order.", required=True),
     Field("button_pin", _PIN, "BCM pin of its call button; absent: none."),
     Field("led_pin", _PIN, "BCM pin of its LED; absent: none.")),
    ({"number": 1, "lanes": ["A", "C"], "button_pin": 17, "led_pin": 27},
     {"number": 2, "lanes": ["B", "C"], "button_pin": 22, "led_pin": 23},
     {"number": 3, "lanes": ["C", "A", "B"], "button_pin": 24, "led_pin": 25}),
    "Counters (باجه): each serves its lanes in order. Pins are BCM numbers.",
)

ARRAYS = (LANES, COUNTERS)


# -- cross-field rules ----------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A rule across settings: *text* for the docs, *check* giving the problems."""

    text: str
    check: Callable[["Checked"], list[str]]


@dataclass(frozen=True)
class Checked:
    """What the rules see: every section with the defaults in place of invalid
    settings, the valid rows with their index, and every lane code given."""

    data: dict
    lanes: list[tuple[int, dict]]
    counters: list[tuple[int, dict]]
    lane_codes: set[str]


def _lane_rules(c: Checked):
    lanes, errors = c.lanes, []
    for i, lane in lanes:
        if ("prefix" in lane) == ("range" in lane):
            errors.append(f"lanes[{i}]: give exactly one of prefix or range")
        elif "range" in lane and not lane["range"][0] < lane["range"][1]:
            errors.append(f"lanes[{i}].range: must be [first, last] with first < last, got {lane['range']!r}")
    errors += _duplicates("lanes", lanes, "code") + _duplicates("lanes", lanes, "prefix")
    ranged = sorted((lane["range"], i) for i, lane in lanes if "range" in lane and lane["range"][0] < lane["range"][1])
    for (a, i), (b, j) in zip(ranged, ranged[1:]):
        if b[0] <= a[1]:
            errors.append(f"lanes[{j}].range: {b} overlaps the range {a} of lanes[{i}]")
    owner: dict[str, int] = {}
    for i, lane in lanes:
        for category in lane.get("categories", ["*"]):
            if category in owner:
                errors.append(f"lanes[{i}].categories: {category!r} is already in lanes[{owner[category]}]; "
                              "a category belongs to one lane")
            owner.setdefault(category, i)
    return errors


def _duplicates(name, rows, key):
    seen, errors = {}, []
    for i, row in rows:
        if key in row:
            if row[key] in seen:
                errors.append(f"{name}[{i}].{key}: {row[key]!r} is already used by {name}[{seen[row[key]]}]")
            seen.setdefault(row[key], i)
    return errors


def _counter_rules(c: Checked):
    errors = _duplicates("counters", c.counters, "number")
    for i, counter in c.counters:
        unknown = [code for code in counter["lanes"] if code not in c.lane_codes]
        if unknown:
            errors.append(f"counters[{i}].lanes: unknown or empty lanes {unknown!r}; known: {sorted(c.lane_codes)}")
    return errors


def _pin_rules(c: Checked):
    hardware = c.data["hardware"]
    named = [("hardware.buzzer_pin", hardware["buzzer_pin"]), ("hardware.status_led_pin", hardware["status_led_pin"])]
    for i, counter in c.counters:
        named += [(f"counters[{i}].{key}", counter[key]) for key in ("button_pin", "led_pin") if key in counter]
    used: dict[int, str] = {}
    errors = []
    for where, pin in named:
        if pin in used:
            errors.append(f"{where}: pin {pin} is already used by {used[pin]}")
        used.setdefault(pin, where)
    return errors


def _output_rules(c: Checked):
    kiosk, display = c.data["kiosk"]["output"], c.data["display"]["output"]
    if kiosk and kiosk == display:
        return [f"display.output: {display!r} is already kiosk.output; each app needs its own output"]
    return []


def _mqtt_rules(c: Checked):
    mqtt, errors = c.data["mqtt"], []
    if bool(mqtt["cert_file"]) != bool(mqtt["key_file"]):
        errors.append("mqtt.cert_file and mqtt.key_file: give both (a client certificate and its key) or neither")
    if mqtt["username"] and not mqtt["password_file"]:
        errors.append("mqtt.password_file: required when mqtt.username is set")
    if mqtt["reconnect_min_seconds"] > mqtt["reconnect_max_seconds"]:
        errors.append(f"mqtt.reconnect_min_seconds: must not exceed mqtt.reconnect_max_seconds "
                      f"({mqtt['reconnect_min_seconds']} > {mqtt['reconnect_max_seconds']})")
    return errors


#: Rules across settings, checked over the valid rows and settings.
RULES = (
    Rule("A lane has exactly one of `prefix` and `range`; a range is `[first, last]` with first < last.", _lane_rules),
    Rule("Lane codes are unique, prefixes are unique, ranges of different lanes do not overlap, and a category "
         "belongs to one lane.", _lane_rules),
    Rule("Counter numbers are unique; every lane a counter names exists.", _counter_rules),
    Rule("No GPIO pin is used twice among `hardware.buzzer_pin`, `hardware.status_led_pin` and the counters' "
         "`button_pin` and `led_pin`.", _pin_rules),
    Rule("`mqtt.cert_file` and `mqtt.key_file` go together; `mqtt.username` needs `mqtt.password_file`; "
         "`mqtt.reconnect_min_seconds` ≤ `mqtt.reconnect_max_seconds`.", _mqtt_rules),
    Rule("`kiosk.output` and `display.output` name different outputs (or one of them is empty).", _output_rules),
    Rule("At agent start only (not by `config check`): with `mqtt.tls`, `mqtt.ca_file` (when set) must exist; "
         "`mqtt.cert_file`, `mqtt.key_file` and `mqtt.password_file` (when set) must exist.", lambda c: []),
)


# -- the parsed configuration ---------------------------------------------------------

@dataclass(frozen=True)
class Lane:
    code: str
    title: str
    prefix: str | None = None
    range: tuple[int, int] | None = None
    categories: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class Counter:
    number: int
    lanes: tuple[str, ...]
    button_pin: int | None = None
    led_pin: int | None = None


@dataclass
class Config(Sections):
    """The parsed configuration. Sections are plain dicts in :attr:`data`, read typed
    as ``config.kiosk.idle_timeout`` (:mod:`pishkhan.settings`); lanes and counters
    are lists; :meth:`get` reads ``"section.key"`` (for code that names a setting in data)."""

    data: dict
    path: Path | None = None
    lanes: list[Lane] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=list)

    def get(self, dotted: str):
        section, _, key = dotted.partition(".")
        try:
            return self.data[section][key]
        except KeyError:
            raise ConfigError(f"unknown setting {dotted!r}") from None

    @property
    def device_id(self) -> str:
        return self.device.id

    @property
    def state_dir(self) -> Path:
        configured = self.device.state_dir
        if configured:
            return Path(configured).expanduser()
        if os.environ.get("PISHKHAN_STATE_DIR"):
            return Path(os.environ["PISHKHAN_STATE_DIR"]).expanduser()
        if DEVICE_STATE_DIR.is_dir() and os.access(DEVICE_STATE_DIR, os.W_OK):
            return DEVICE_STATE_DIR
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        return Path(base) / "pishkhan"

    @property
    def store_path(self) -> Path:
        return self.state_dir / "pishkhan.db"

    def lane_for_category(self, category_code: str) -> Lane:
        for lane in self.lanes:
            if category_code in lane.categories:
                return lane
        for lane in self.lanes:
            if "*" in lane.categories:
                return lane
        raise ConfigError(f"no lane takes category {category_code!r}; add it to a lane or give a lane categories = [\"*\"]")

    def counter(self, number: int) -> Counter:
        for counter in self.counters:
            if counter.number == number:
                return counter
        raise ConfigError(f"there is no counter {number}; configured: {[c.number for c in self.counters]}")


# -- validation -------------------------------------------------------------------------

def _by_section() -> dict[str, dict[str, Setting]]:
    out: dict[str, dict[str, Setting]] = {name: {} for name in SECTIONS}
    for s in SETTINGS:
        out[s.section][s.key] = s
    return out


def _rows(array: TableArray, raw, errors: list[str]) -> list[tuple[int, dict]]:
    """The valid rows of *raw* (``[[lanes]]``) with their index; each problem is added to *errors*."""
    if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
        errors.append(f"{array.name}: must be an array of tables ([[{array.name}]] sections), got {_show(raw)}")
        return []
    if not array.min_rows <= len(raw) <= array.max_rows:
        errors.append(f"{array.name}: must have {array.min_rows} to {array.max_rows} entries, got {len(raw)}")
    keys = [f.key for f in array.fields]
    rows = []
    for i, row in enumerate(raw):
        where, row_errors = f"{array.name}[{i}]", []
        for key in row:
            if key not in keys:
                row_errors.append(f"{where}.{key}: unknown field{_close(key, keys)} (fields: {', '.join(keys)})")
        for f in array.fields:
            if f.key in row:
                row_errors += f.kind.check(row[f.key], f"{where}.{f.key}")
            elif f.required:
                row_errors.append(f"{where}.{f.key}: required")
        errors += row_errors
        if not row_errors:
            rows.append((i, row))
    return rows


def parse_config(data: dict, path: Path | None = None) -> Config:
    """Merge *data* over the defaults; raise :exc:`ConfigError` listing every problem."""
    errors: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'configuration'}: must be a table of sections, got {_show(data)}")
    table = _by_section()
    merged = {section: {key: _copy(s.default) for key, s in settings.items()} for section, settings in table.items()}
    for section, values in data.items():
        if section in (a.name for a in ARRAYS):
            continue
        if section not in table:
            errors.append(f"{section}: unknown section{_close(section, [*table, *(a.name for a in ARRAYS)])}")
            continue
        if not isinstance(values, dict):
            errors.append(f"{section}: must be a table ([{section}]), got {_show(values)}")
            continue
        for key, value in values.items():
            setting = table[section].get(key)
            if setting is None:
                errors.append(f"{section}.{key}: unknown setting{_close(key, table[section])}")
                continue
            problems = setting.kind.check(value, setting.name)
            errors += problems
            if not problems:
                merged[section][key] = value
    raw_lanes = data.get("lanes", _copy(list(LANES.defaults)))
    lanes = _rows(LANES, raw_lanes, errors)
    counters = _rows(COUNTERS, data.get("counters", _copy(list(COUNTERS.defaults))), errors)
    codes = {row["code"] for row in raw_lanes if isinstance(row, dict) and isinstance(row.get("code"), str)} \
        if isinstance(raw_lanes, list) else set()
    checked, done = Checked(merged, lanes, counters, codes), []
    for rule in RULES:
        if rule.check not in done:
            done.append(rule.check)
            errors += rule.check(checked)
    if errors:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}bad configuration:\n  " + "\n  ".join(errors))
    return Config(merged, path,
                  [Lane(row["code"], row.get("title", row["code"]), row.get("prefix"),
                        tuple(row["range"]) if "range" in row else None, tuple(row.get("categories", ["*"])))
                   for _, row in lanes],
                  [Counter(row["number"], tuple(row["lanes"]), row.get("button_pin"), row.get("led_pin"))
                   for _, row in counters])


def _copy(value):
    return json.loads(json.dumps(value))


def load_config(path=None) -> Config:
    """Load *path*, else ``$PISHKHAN_CONFIG``, else the embedded defaults; then the drop-ins beside the file."""
    path = path or os.environ.get("PISHKHAN_CONFIG")
    if not path:
        return parse_config({})
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (create one with `pishkhan config init --out {path}`)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the configuration file: {e.strerror or e}") from None
    return parse_config(_with_drop_ins(data, path), path)


def drop_in_dir(path) -> Path:
    """The drop-in folder of the configuration file *path*: ``pishkhan.toml`` → ``pishkhan.d/``."""
    return Path(path).with_suffix(".d")


def _with_drop_ins(data: dict, path: Path) -> dict:
    """*data* with each ``*.toml`` of :func:`drop_in_dir` merged over it, in name order.

    A section a drop-in gives is merged key by key (its keys win); an array
    of tables (``[[lanes]]``) it gives replaces the file's. The main file is
    never written by a program: files a program owns whole (enrolment's
    ``enrolment.toml``) go here.
    """
    folder = drop_in_dir(path)
    if not folder.is_dir():
        return data
    merged = dict(data)
    for extra in sorted(folder.glob("*.toml")):
        try:
            more = tomllib.loads(extra.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{extra}: not valid TOML: {e}") from None
        except OSError as e:
            raise ConfigError(f"{extra}: cannot read the configuration file: {e.strerror or e}") from None
        for section, values in more.items():
            if isinstance(values, dict) and isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], **values}
            else:
                merged[section] = values
    return merged


# -- for the agent --------------------------------------------------------------------------

@dataclass(frozen=True)
class MqttEndpoint:
    host: str
    port: int
    tls: bool


def mqtt_endpoint(config: Config) -> MqttEndpoint:
    """Where the broker is: ``mqtt.url`` when set (port default 1883, or 8883 for
    mqtts), else ``mqtt.host``, ``mqtt.port`` and ``mqtt.tls``."""
    mqtt = config.mqtt
    url = mqtt.url
    if url:
        m = _MQTT_URL.fullmatch(url)
        tls = m.group(1) == "mqtts"
        return MqttEndpoint(m.group(2).strip("[]"), int(m.group(3) or (8883 if tls else 1883)), tls)
    return MqttEndpoint(mqtt.host, mqtt.port, mqtt.tls)


def check_agent_files(config: Config) -> None:
    """At agent start: the files the ``[mqtt]`` settings name must exist (raise :exc:`ConfigError`)."""
    mqtt = config.mqtt
    wanted = [("cert_file", mqtt.cert_file), ("key_file", mqtt.key_file), ("password_file", mqtt.password_file)]
    if mqtt_endpoint(config).tls:
        wanted.insert(0, ("ca_file", mqtt.ca_file))
    missing = [f"mqtt.{key}: no such file {name!r}" for key, name in wanted
               if name and not Path(name).expanduser().is_file()]
    if missing:
        raise ConfigError("the agent cannot start:\n  " + "\n  ".join(missing))


# -- the generated file and docs ---------------------------------------------------------------

def toml_value(value) -> str:
    """*value* as TOML (str, bool, int, float, list of those)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in text.splitlines()] if text else []


def default_toml(*, always_open: bool = False, printer: str = "fake") -> str:
    """The commented file ``pishkhan config init`` writes: every setting at its default."""
    overrides = {"hours.always_open": always_open, "printer.uri": printer}
    lines = ["# Pishkhan Edge device configuration.",
             "# Every setting is shown with its default value. Times are Asia/Tehran.",
             "# docs/configuration.md describes each one and the values it takes."]
    for section in SECTIONS:
        if section == "hardware":  # lanes and counters sit after the queue rules
            lines += _array_toml(LANES) + _array_toml(COUNTERS)
        lines += ["", *_comment(SECTIONS[section]), f"[{section}]"]
        for s in SETTINGS:
            if s.section == section:
                lines += _comment(s.comment)
                lines.append(f"{s.key} = {toml_value(overrides.get(s.name, s.default))}")
    return "\n".join(lines) + "\n"


def _array_toml(array: TableArray) -> list[str]:
    return ["", *_comment(array.comment), *_rows_toml(array)]


def _rows_toml(array: TableArray) -> list[str]:
    lines = []
    for i, row in enumerate(array.defaults):
        if i:
            lines.append("")
        lines.append(f"[[{array.name}]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in row.items()]
    return lines


#: The rendered default file, as ``default_toml()`` gives it.
DEFAULT_TOML = default_toml()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def docs_markdown() -> str:
    """``docs/configuration.md``: every setting, its default, the values it takes and what it does."""
    out = ["# Configuration", "",
           "<!-- Generated by `pishkhan config docs --out docs/configuration.md` from the table in",
           "     pishkhan/config.py; tests/core/test_config.py fails when this file differs. -->", "",
           "One TOML file holds every setting of the device. It is found from `--config FILE`, else",
           "`$PISHKHAN_CONFIG`; without either the built-in defaults below are used.",
           "`pishkhan config init --out FILE` writes it with every setting at its default and a comment;",
           "`pishkhan config check` loads it and lists every problem. The kiosk, display, panel and agent",
           "refuse to start with a bad file, naming each key and what was expected.", "",
           "Every `*.toml` in the folder beside the file named after it (`pishkhan.toml` → `pishkhan.d/`)",
           "is read after it, in name order, and wins key by key: files a program owns whole go there",
           "(enrolment writes `pishkhan.d/enrolment.toml`: docs/enrolment.md); the main file is never",
           "written by a program.", "",
           "Rules for every value: an unknown section, key or field is refused (with a \"did you mean\" hint);",
           "types are strict (`true` is not a number, `\"5\"` is not a number; a whole number is accepted",
           "where a decimal one is expected); decimal numbers must be finite; text holds no control",
           "characters, and text shown to customers holds no bidi embedding, override or isolate controls",
           "and has a visible character.", ""]
    for section, comment in SECTIONS.items():
        if section == "hardware":
            out += _array_md(LANES) + _array_md(COUNTERS)
        out += [f"## [{section}]", "", comment, "", "| key | default | values | what it does |", "|---|---|---|---|"]
        last = ""
        for s in SETTINGS:
            if s.section == section:
                text = s.comment or last
                last = text
                out.append(f"| `{s.key}` | `{_md(toml_value(s.default))}` | {_md(s.kind.describe())} | {_md(text)} |")
        out.append("")
    out += ["## Rules across settings", ""]
    out += [f"- {rule.text}" for rule in RULES]
    out.append("")
    return "\n".join(out)


def _array_md(array: TableArray) -> list[str]:
    out = [f"## [[{array.name}]]", "", _md(array.comment), "",
           f"At least {array.min_rows}, at most {array.max_rows} entries. When the file has no "
           f"`[[{array.name}]]`, the defaults below are used.", "",
           "| field | values | what it is |", "|---|---|---|"]
    for f in array.fields:
        out.append(f"| `{f.key}`{' (required)' if f.required else ''} | {_md(f.kind.describe())} | {_md(f.comment)} |")
    out += ["", "Defaults:", "", "```toml", *_rows_toml(array), "```", ""]
    return out


# -- the typed sections (pishkhan/settings.py) -----------------------------------------------

def _python_type(kind: Kind) -> tuple[str, str]:
    """The annotation of a setting of *kind*, and how a parsed value becomes it (``{}`` is the value)."""
    if isinstance(kind, Bool):
        return "bool", "{}"
    if isinstance(kind, Int):
        return "int", "{}"
    if isinstance(kind, Float):
        return "float", "float({})"
    if isinstance(kind, Text):
        return "str", "{}"
    if isinstance(kind, (ListOf, Shifts)):
        return "tuple[str, ...]", "tuple({})"
    raise TypeError(f"no Python type for {kind!r}")


def _class_name(section: str) -> str:
    return section.title().replace("_", "")


def settings_module() -> str:
    """``pishkhan/settings.py``: one frozen class per section of :data:`SETTINGS`, and the
    :class:`Sections` base that gives :class:`Config` a typed attribute per section."""
    import keyword

    out = ['"""The configuration\'s sections as typed, frozen objects: ``config.kiosk.idle_timeout``.',
           "",
           "Generated by `pishkhan config typed --out pishkhan/settings.py` from the table in",
           "pishkhan/config.py; tests/core/test_config_typed.py fails when this file differs.",
           "A mistyped key is an unknown attribute: the type checker and that test name it.",
           '"""',
           "",
           "from __future__ import annotations",
           "",
           "from dataclasses import dataclass",
           "from typing import Any, Mapping"]
    for section, comment in SECTIONS.items():
        rows = [s for s in SETTINGS if s.section == section]
        out += ["", "", "@dataclass(frozen=True, slots=True)", f"class {_class_name(section)}:",
                f'    """[{section}]: {comment.replace(chr(96), "")}"""', ""]
        for s in rows:
            if not s.key.isidentifier() or keyword.iskeyword(s.key):
                raise ValueError(f"{s.name}: a key must be a Python name to be typed")
            out.append(f"    {s.key}: {_python_type(s.kind)[0]}")
        out += ["", "    @classmethod", f"    def of(cls, values: Mapping[str, Any]) -> {_class_name(section)}:",
                f'        """The section from its parsed values (``Config.data["{section}"]``)."""',
                "        return cls("]
        out += ["            {}={},".format(s.key, _python_type(s.kind)[1].format(f'values["{s.key}"]'))
                for s in rows]
        out.append("        )")
    out += ["", "", "class Sections:",
            '    """A typed attribute per section, read from ``self.data`` at each use."""', "",
            "    data: dict", ""]
    for section in SECTIONS:
        out += ["    @property", f"    def {section}(self) -> {_class_name(section)}:",
                f'        return {_class_name(section)}.of(self.data["{section}"])', ""]
    return "\n".join(out).rstrip("\n") + "\n"
