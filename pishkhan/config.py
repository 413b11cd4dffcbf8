"""Device configuration: one TOML file, with every setting defaulted.

The file is found from ``--config FILE``, else ``PISHKHAN_CONFIG``; without
either, the embedded defaults are used. ``pishkhan config init`` writes a
commented file holding every setting (see :data:`DEFAULT_TOML`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pishkhan.exc import ConfigError

DEVICE_STATE_DIR = Path("/var/lib/pishkhan")

DEFAULT_TOML = '''\
# Pishkhan Edge device configuration.
# Every setting is shown with its default value. Times are Asia/Tehran.

[device]
# Unique id of this device, as enrolled with the centre.
id = "dev-0001"
# Folder holding the local store and caches. Empty: PISHKHAN_STATE_DIR, else
# /var/lib/pishkhan on a device, else ~/.local/share/pishkhan.
state_dir = ""

[office]
# Shown in the header of the board and on tickets.
name = "دفتر پیشخوان خدمات دولت شماره ۱۲۳۴"
licence = "۲۳-۱۲۳۴"
# Office code as used in office-scope boards, and the province code.
office_id = "23-1234"
province = "23"
# Currency shown to customers: "rial" or "toman". Amounts are stored in rials.
currency_unit = "rial"
# Whether customers may take priority tickets (elderly, disabled, veterans).
allow_priority = true

[hours]
# true: the office is open at every minute (demos and tests).
always_open = {always_open}
# Weekly hours until a signed schedule arrives from the province.
# Keys are English weekday names; an empty list means closed that day.
saturday = ["07:30-14:30"]
sunday = ["07:30-14:30"]
monday = ["07:30-14:30"]
tuesday = ["07:30-14:30"]
wednesday = ["07:30-14:30"]
thursday = ["07:30-12:30"]
friday = []
# No ticket is issued when the estimated call time is later than closing
# time minus this many minutes.
cutoff_margin_minutes = 10

[queue]
# At most this many normal tickets are called between two priority ones.
normal_per_priority = 2
# A called ticket becomes a no-show after this many recalls.
no_show_after_recalls = 3
# Starting estimate of minutes per customer, before any are observed.
default_service_minutes = 6.0

# Lanes: every service belongs to one lane. A lane numbers its tickets with a
# prefix letter (A001) or inside a number range (101-499). "categories" lists
# board category codes; a lane with categories = ["*"] takes the rest.
[[lanes]]
code = "A"
title = "کارت ملی، گذرنامه و گواهینامه"
prefix = "A"
categories = ["id-card", "passport", "driving"]

[[lanes]]
code = "B"
title = "خودرو و خدمات قضایی"
range = [101, 499]
categories = ["vehicle", "judicial"]

[[lanes]]
code = "C"
title = "سایر خدمات"
prefix = "C"
categories = ["*"]

# Counters (باجه): each serves its lanes in order. Pins are BCM numbers.
[[counters]]
number = 1
lanes = ["A", "C"]
button_pin = 17
led_pin = 27

[[counters]]
number = 2
lanes = ["B", "C"]
button_pin = 22
led_pin = 23

[[counters]]
number = 3
lanes = ["C", "A", "B"]
button_pin = 24
led_pin = 25

[hardware]
# gpiozero pin factory: "" lets gpiozero choose (lgpio on a Pi), "mock" fakes pins.
pin_factory = ""
buzzer_pin = 18
status_led_pin = 4
# A press held this many seconds is a recall rather than a call.
hold_seconds = 1.5
# Pi health readings: "pi" (real) or "fake".
health = "pi"

[printer]
# usb:VENDOR:PRODUCT (e.g. usb:0x0416:0x5011), lp:/dev/usb/lp0,
# serial:/dev/ttyUSB0, net:192.0.2.10:9100, file:PATH (records bytes), fake.
uri = "{printer}"
# Paper width: "80mm" (576 dots) or "58mm" (384 dots).
paper = "80mm"

[kiosk]
# Seconds without a touch before the kiosk returns to its start screen.
idle_timeout = 60
# Seconds without a touch before staff mode closes itself.
staff_timeout = 120
# scrypt hash of the staff PIN; set it with `pishkhan kiosk set-pin`.
# Empty: the PIN is 1234 until one is set (change it before use).
staff_pin_hash = ""
# "fa" or "en"; customers can switch.
language = "fa"
# Text size factor, 1.0 normal; customers can enlarge.
text_scale = 1.0
# Folder where a USB stick is mounted, for board import.
usb_mount = "/media"

[display]
# Seconds each board page is shown on the wall screen.
seconds_per_page = 12
# Screen power backends, tried together: "cec", "blank", "drm", "fake".
screen_power = ["cec", "blank"]
# Re-assert the wanted screen state this often (seconds).
power_reassert_seconds = 300
# Minutes before opening the screen turns on, and after closing it turns off.
power_on_before_minutes = 15
power_off_after_minutes = 15
# Proof of display: a snapshot every this many seconds; keep this many.
snapshot_seconds = 300
snapshot_keep = 12
# Spoken calls: "espeak" (espeak-ng, Persian voice) or "none".
voice = "espeak"
# Where announcements play: "auto" (the default sound device through aplay,
# paplay or sox; visual only when there is none), "none", or "file:PATH"
# (appends each phrase and its WAV as a JSON line; for tests and demos).
audio = "auto"
# HDMI-CEC device of the wall TV's port (/dev/cec1 for a Pi's second HDMI).
cec_device = "/dev/cec0"
# Wall layout: "landscape" (1920x1080) or "portrait" (1080x1920).
orientation = "landscape"

[mqtt]
# Run the MQTT agent's connection at all; false keeps messages in the outbox.
enabled = true
# Broker as a URL (mqtt://host:1883 or mqtts://host:8883); empty: host and port.
url = ""
host = "localhost"
port = 1883
# MQTT protocol version: "5" or "3.1.1".
protocol = "5"
# TLS: ca_file verifies the broker (empty: the system CAs); cert_file and
# key_file give this device's client certificate.
tls = false
ca_file = ""
cert_file = ""
key_file = ""
# Username and a file holding the password (its first line).
username = ""
password_file = ""
# MQTT client id; empty: the device id.
client_id = ""
# Seconds between keepalive pings.
keepalive = 30
# Reconnect waits grow from min to max seconds, with random jitter.
reconnect_min_seconds = 1.0
reconnect_max_seconds = 120.0
# Seconds between telemetry messages.
telemetry_seconds = 60
# Messages handed to the MQTT client at once, awaiting the broker's ack.
inflight_window = 20
# The durable outbox keeps at most this many bytes of messages, and none
# older than this many days (policy: docs/mqtt.md).
outbox_max_bytes = 50000000
outbox_max_age_days = 14
# Every topic starts with this.
topic_root = "pishkhan/v1"
'''


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
class Config:
    """The parsed configuration. Sections are plain dicts except lanes and
    counters; :meth:`get` reads ``section.key`` with the default filled in."""

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
        return self.get("device.id")

    @property
    def state_dir(self) -> Path:
        configured = self.get("device.state_dir")
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


def default_toml(*, always_open: bool = False, printer: str = "fake") -> str:
    return (DEFAULT_TOML.replace("{always_open}", "true" if always_open else "false")
            .replace("{printer}", printer))


def _defaults() -> dict:
    return tomllib.loads(default_toml())


def _merge(defaults: dict, given: dict, where: str, errors: list[str]) -> dict:
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            errors.append(f"{where}{key}: unknown setting")
            continue
        expected = defaults[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                errors.append(f"{where}{key}: must be a table")
                continue
            out[key] = _merge(expected, value, f"{where}{key}.", errors)
        elif isinstance(expected, bool) != isinstance(value, bool) or (
                not isinstance(value, type(expected)) and not (isinstance(expected, float) and isinstance(value, int))):
            errors.append(f"{where}{key}: must be {type(expected).__name__}, got {value!r}")
        else:
            out[key] = value
    return out


def _lanes(raw, errors) -> list[Lane]:
    lanes = []
    for i, item in enumerate(raw):
        where = f"lanes[{i}]"
        code = item.get("code")
        if not isinstance(code, str) or not code:
            errors.append(f"{where}.code: required")
            continue
        prefix, rng = item.get("prefix"), item.get("range")
        if (prefix is None) == (rng is None):
            errors.append(f"{where}: give exactly one of prefix or range")
            continue
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(n, int) for n in rng)
                                    and 0 < rng[0] < rng[1]):
            errors.append(f"{where}.range: must be [first, last] with 0 < first < last, got {rng!r}")
            continue
        lanes.append(Lane(code, item.get("title", code), prefix, tuple(rng) if rng else None,
                          tuple(item.get("categories", ["*"]))))
    codes = [lane.code for lane in lanes]
    if len(set(codes)) != len(codes):
        errors.append(f"lanes: duplicate lane codes in {codes}")
    return lanes


def _counters(raw, lanes, errors) -> list[Counter]:
    known = {lane.code for lane in lanes}
    counters = []
    for i, item in enumerate(raw):
        where = f"counters[{i}]"
        number = item.get("number")
        if not isinstance(number, int) or number < 1:
            errors.append(f"{where}.number: must be a positive integer")
            continue
        serves = tuple(item.get("lanes", []))
        unknown = [c for c in serves if c not in known]
        if unknown or not serves:
            errors.append(f"{where}.lanes: unknown or empty lanes {unknown or serves!r}; known: {sorted(known)}")
            continue
        counters.append(Counter(number, serves, item.get("button_pin"), item.get("led_pin")))
    return counters


def parse_config(data: dict, path: Path | None = None) -> Config:
    """Merge *data* over the defaults; raise :exc:`ConfigError` listing every problem."""
    defaults = _defaults()
    errors: list[str] = []
    data = dict(data)
    raw_lanes = data.pop("lanes", defaults.pop("lanes"))
    raw_counters = data.pop("counters", defaults.pop("counters"))
    defaults.pop("lanes", None)
    defaults.pop("counters", None)
    merged = _merge(defaults, data, "", errors)
    lanes = _lanes(raw_lanes, errors)
    counters = _counters(raw_counters, lanes, errors)
    if merged["office"]["currency_unit"] not in ("rial", "toman"):
        errors.append(f"office.currency_unit: must be \"rial\" or \"toman\", got {merged['office']['currency_unit']!r}")
    if errors:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}bad configuration:\n  " + "\n  ".join(errors))
    return Config(merged, path, lanes, counters)


def load_config(path=None) -> Config:
    """Load *path*, else ``$PISHKHAN_CONFIG``, else the embedded defaults."""
    path = path or os.environ.get("PISHKHAN_CONFIG")
    if not path:
        return parse_config({})
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (create one with `pishkhan config init --out {path}`)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return parse_config(data, path)
