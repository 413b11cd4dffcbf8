"""The configuration table: validation of every class of bad value, the generated file and docs."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pishkhan import config as C
from pishkhan.config import (COUNTERS, LANES, SETTINGS, check_agent_files, default_toml, docs_markdown, load_config,
                             mqtt_endpoint, parse_config)
from pishkhan.exc import ConfigError, PrinterError
from pishkhan.schedule.hours import hours_from_config

ROOT = Path(__file__).resolve().parents[2]


def refused(data) -> str:
    """The error text parse_config gives for *data* (fails the test if it is accepted)."""
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def one(section, key, value):
    return {section: {key: value}}


# -- numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["queue.default_service_minutes", "hardware.hold_seconds", "kiosk.text_scale",
                                 "mqtt.reconnect_min_seconds", "mqtt.reconnect_max_seconds"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(key, value):
    text = refused(one(*key.split("."), value))
    assert f"{key}: must be a finite number" in text


@pytest.mark.parametrize("key, value, limits", [
    ("hours.cutoff_margin_minutes", -1, "from 0 to 240"),
    ("hours.cutoff_margin_minutes", 100_000, "from 0 to 240"),
    ("queue.default_service_minutes", -1, "from 0.5 to 240.0"),
    ("queue.default_service_minutes", 0, "from 0.5 to 240.0"),
    ("queue.normal_per_priority", -1, "from 0 to 100"),
    ("queue.no_show_after_recalls", -3, "from 0 to 20"),
    ("kiosk.text_scale", 0, "from 0.5 to 3.0"),
    ("kiosk.text_scale", 0.0, "from 0.5 to 3.0"),
    ("kiosk.idle_timeout", 0, "from 10 to 3600"),
    ("display.seconds_per_page", 0, "from 1 to 3600"),
    ("display.snapshot_keep", 0, "from 1 to 10000"),
    ("hardware.buzzer_pin", 28, "from 0 to 27"),
    ("mqtt.port", 0, "from 1 to 65535"),
    ("mqtt.port", 65536, "from 1 to 65535"),
    ("mqtt.keepalive", 4, "from 5 to 3600"),
    ("mqtt.telemetry_seconds", 3601, "from 1 to 3600"),
    ("mqtt.inflight_window", 0, "from 1 to 1000"),
    ("compliance.printer_out_minutes", 0, "from 1 to 1440"),
    ("mqtt.outbox_max_bytes", 2 ** 70, "from 100000 to 10000000000"),
])
def test_numbers_out_of_range_are_refused(key, value, limits):
    assert f"{key}: must be from {limits.split()[1]} to {limits.split()[3]}, got {value!r}" in refused(
        one(*key.split("."), value))


def test_negative_cutoff_cannot_reach_the_queue():
    # −1 used to pass and then refuse tickets with "cut-off" at every closing time
    assert "hours.cutoff_margin_minutes" in refused({"hours": {"cutoff_margin_minutes": -1}})
    assert parse_config({"hours": {"cutoff_margin_minutes": 0}}).get("hours.cutoff_margin_minutes") == 0


@pytest.mark.parametrize("key, value, kind", [
    ("hours.cutoff_margin_minutes", "10", "int"),
    ("hours.cutoff_margin_minutes", True, "int"),
    ("hours.cutoff_margin_minutes", 10.5, "int"),
    ("mqtt.port", [1883], "int"),
    ("queue.default_service_minutes", "6", "float"),
    ("queue.default_service_minutes", False, "float"),
    ("office.allow_priority", 1, "bool"),
    ("office.allow_priority", "yes", "bool"),
    ("office.name", 5, "str"),
    ("printer.uri", ["fake"], "str"),
    ("mqtt.url", {"host": "x"}, "str"),
    ("hours.always_open", dt.date(2026, 1, 1), "bool"),
])
def test_wrong_types_are_refused(key, value, kind):
    assert f"{key}: must be {kind}" in refused(one(*key.split("."), value))


def test_a_whole_number_is_a_number():
    cfg = parse_config({"queue": {"default_service_minutes": 7}, "kiosk": {"text_scale": 2}})
    assert cfg.get("queue.default_service_minutes") == 7 and cfg.get("kiosk.text_scale") == 2


# -- lists ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    ({"lanes": [{"code": "A", "prefix": "A", "categories": "id-card"}]}, "lanes[0].categories: must be a list"),
    ({"lanes": [{"code": "A", "prefix": "A", "categories": []}]}, "lanes[0].categories: must have 1 to 100 items"),
    ({"lanes": [{"code": "A", "prefix": "A", "categories": ["id-card", 5]}]}, "lanes[0].categories[1]: must be str"),
    ({"lanes": [{"code": "A", "prefix": "A", "categories": ["x", "x"]}]}, "lanes[0].categories: 'x' is listed twice"),
    ({"display": {"screen_power": "cec"}}, "display.screen_power: must be a list"),
    ({"display": {"screen_power": ["cec", "cec"]}}, "display.screen_power: 'cec' is listed twice"),
    ({"hours": {"monday": "07:30-14:30"}}, "hours.monday: must be a list"),
    ({"hours": {"monday": [730]}}, "hours.monday[0]: must be str"),
    ({"counters": [{"number": 1, "lanes": "A"}]}, "counters[0].lanes: must be a list"),
    ({"counters": [{"number": 1, "lanes": []}]}, "counters[0].lanes: must have 1 to 100 items"),
    ({"lanes": [{"code": "A", "range": [1, 2, 3]}]}, "lanes[0].range: must have 2 to 2 items"),
    ({"lanes": [{"code": "A", "range": ["1", "9"]}]}, "lanes[0].range[0]: must be int"),
])
def test_lists_must_be_lists_of_the_right_items(data, expected):
    assert expected in refused(data)


# -- names from a list of choices ------------------------------------------------------------

@pytest.mark.parametrize("key, value, hint", [
    ("printer.paper", "90mm", "did you mean '80mm'?"),
    ("printer.paper", "A4", ""),
    ("kiosk.language", "fr", ""),
    ("kiosk.language", "FA", ""),
    ("display.orientation", "landscap", "did you mean 'landscape'?"),
    ("display.orientation", "", ""),
    ("display.voice", "espek", "did you mean 'espeak'?"),
    ("office.currency_unit", "usd", ""),
    ("hardware.health", "real", ""),
    ("hardware.pin_factory", "gpio", ""),
    ("mqtt.protocol", "3", ""),
    ("mqtt.protocol", "311", ""),
])
def test_unknown_names_are_refused(key, value, hint):
    text = refused(one(*key.split("."), value))
    assert f"{key}: must be one of" in text and f"got {value!r}" in text
    assert hint in text


@pytest.mark.parametrize("names", [["hdmi-magic"], ["cec", "CEC"], ["blank", ""]])
def test_unknown_screen_power_names_are_refused(names):
    assert "display.screen_power[" in refused({"display": {"screen_power": names}})


@pytest.mark.parametrize("value", ["", "speaker", "file:", "FILE:/x"])
def test_audio_takes_auto_none_or_a_file(value):
    assert "display.audio" in refused({"display": {"audio": value}})
    for good in ("auto", "none", "file:/tmp/a.jsonl"):
        assert parse_config({"display": {"audio": good}}).get("display.audio") == good


# -- hours ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spans, expected", [
    (["25:00-26:00"], "not a valid time of day"),
    (["12:60-13:00"], "not a valid time of day"),
    (["07:30-24:00"], "not a valid time of day"),
    (["14:00-08:00"], "closing must be after opening"),
    (["08:00-08:00"], "closing must be after opening"),
    (["7.30 to 2"], 'hours must look like "07:30-14:30"'),
    (["08:00-12:00", "11:00-14:00"], "shifts '08:00-12:00' and '11:00-14:00' overlap"),
    (["16:00-19:00", "07:30-16:30"], "shifts '07:30-16:30' and '16:00-19:00' overlap"),
    (["08:00-12:00", "08:00-12:00"], "overlap"),
    (["08:00-09:00"] * 5, "must have 0 to 4 items"),
])
def test_bad_hours_are_refused_at_start(spans, expected):
    text = refused({"hours": {"tuesday": spans}})
    assert "hours.tuesday" in text and expected in text


def test_two_shifts_touching_or_apart_are_fine():
    cfg = parse_config({"hours": {"tuesday": ["16:00-19:00", "07:30-12:00"], "wednesday": ["08:00-12:00", "12:00-13:00"],
                                  "friday": ["۰۸:۰۰-۱۲:۰۰"]}})
    hours = hours_from_config(cfg)
    tuesday = dt.date(2026, 12, 1)
    assert [(s.hour, e.hour) for s, e in hours.periods(tuesday)] == [(7, 12), (16, 19)]


# -- lanes and counters ------------------------------------------------------------------------

def test_duplicate_counter_numbers():
    text = refused({"counters": [{"number": 1, "lanes": ["A"]}, {"number": 2, "lanes": ["B"]},
                                 {"number": 1, "lanes": ["C"]}]})
    assert "counters[2].number: 1 is already used by counters[0]" in text


@pytest.mark.parametrize("counters, hardware, expected", [
    ([{"number": 1, "lanes": ["A"], "button_pin": 5, "led_pin": 5}], {}, "counters[0].led_pin: pin 5 is already used by counters[0].button_pin"),
    ([{"number": 1, "lanes": ["A"], "button_pin": 5}, {"number": 2, "lanes": ["B"], "led_pin": 5}], {},
     "counters[1].led_pin: pin 5 is already used by counters[0].button_pin"),
    ([{"number": 1, "lanes": ["A"], "button_pin": 18}], {}, "counters[0].button_pin: pin 18 is already used by hardware.buzzer_pin"),
    ([{"number": 1, "lanes": ["A"]}], {"buzzer_pin": 4}, "hardware.status_led_pin: pin 4 is already used by hardware.buzzer_pin"),
])
def test_duplicate_pins(counters, hardware, expected):
    assert expected in refused({"counters": counters, "hardware": hardware})


@pytest.mark.parametrize("pin", [-1, 28, 40, 1.0, "17"])
def test_pins_are_bcm_0_to_27(pin):
    assert "counters[0].button_pin: must" in refused({"counters": [{"number": 1, "lanes": ["A"], "button_pin": pin}]})


@pytest.mark.parametrize("counter, expected", [
    ({"lanes": ["A"]}, "counters[0].number: required"),
    ({"number": 0, "lanes": ["A"]}, "counters[0].number: must be from 1 to 99"),
    ({"number": 1, "lanes": ["A", "Z"]}, "counters[0].lanes: unknown or empty lanes ['Z']"),
    ({"number": 1, "lanes": ["A", "A"]}, "counters[0].lanes: 'A' is listed twice"),
    ({"number": 1, "lanes": ["A"], "buton_pin": 3}, "counters[0].buton_pin: unknown field; did you mean 'button_pin'?"),
])
def test_bad_counters(counter, expected):
    assert expected in refused({"counters": [counter]})


@pytest.mark.parametrize("lanes, expected", [
    ([{"code": "A", "prefix": "A"}, {"code": "A", "prefix": "B"}], "lanes[1].code: 'A' is already used by lanes[0]"),
    ([{"code": "A", "prefix": "A", "categories": ["x"]}, {"code": "B", "prefix": "A"}],
     "lanes[1].prefix: 'A' is already used by lanes[0]"),
    ([{"code": "A", "range": [1, 100], "categories": ["x"]}, {"code": "B", "range": [100, 200]}],
     "lanes[1].range: [100, 200] overlaps the range [1, 100] of lanes[0]"),
    ([{"code": "B", "range": [150, 300], "categories": ["x"]}, {"code": "A", "range": [1, 200]}],
     "lanes[0].range: [150, 300] overlaps the range [1, 200] of lanes[1]"),
    ([{"code": "A", "range": [500, 100]}], "lanes[0].range: must be [first, last] with first < last"),
    ([{"code": "A", "range": [0, 100]}], "lanes[0].range[0]: must be from 1 to 999999"),
    ([{"code": "A", "prefix": "A", "range": [1, 9]}], "lanes[0]: give exactly one of prefix or range"),
    ([{"code": "A"}], "lanes[0]: give exactly one of prefix or range"),
    ([{"code": "A", "prefix": "a"}], "lanes[0].prefix: must be one capital letter A-Z"),
    ([{"code": "A", "prefix": "AB"}], "lanes[0].prefix: must be one capital letter A-Z"),
    ([{"code": "A", "prefix": "A", "categories": ["id-card"]}, {"code": "B", "prefix": "B", "categories": ["id-card"]}],
     "lanes[1].categories: 'id-card' is already in lanes[0]"),
    ([{"code": "A", "prefix": "A"}, {"code": "B", "prefix": "B"}], "lanes[1].categories: '*' is already in lanes[0]"),
    ([{"prefix": "A"}], "lanes[0].code: required"),
    ([{"code": "", "prefix": "A"}], "lanes[0].code: must not be empty"),
    ([{"code": "A B", "prefix": "A"}], "lanes[0].code: must be 1-16 letters"),
    ([{"code": "A", "prefix": "A", "catagories": ["*"]}], "lanes[0].catagories: unknown field; did you mean 'categories'?"),
    ([], "lanes: must have 1 to 50 entries"),
    ({"code": "A"}, "lanes: must be an array of tables"),
    (["A"], "lanes: must be an array of tables"),
])
def test_bad_lanes(lanes, expected):
    assert expected in refused({"lanes": lanes, "counters": [{"number": 1, "lanes": ["A"]}]})


def test_lanes_and_counters_as_configured():
    cfg = parse_config({"lanes": [{"code": "X", "range": [1, 50], "categories": ["id-card"]},
                                  {"code": "Y", "prefix": "Y", "title": "بقیه"}],
                        "counters": [{"number": 7, "lanes": ["Y", "X"], "led_pin": 5}]})
    assert cfg.lanes == [C.Lane("X", "X", None, (1, 50), ("id-card",)), C.Lane("Y", "بقیه", "Y", None, ("*",))]
    assert cfg.counters == [C.Counter(7, ("Y", "X"), None, 5)]
    assert cfg.lane_for_category("passport").code == "Y"


# -- text ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    (one("office", "name", "دفتر\x00"), "office.name: holds the control character U+0000"),
    (one("office", "name", "دفتر\x1b[2J"), "office.name: holds the control character U+001B"),
    (one("office", "name", "هزینه \u202e0001"), "office.name: holds the bidi control U+202E"),
    (one("office", "licence", "\u2066۲۳\u2069"), "office.licence: holds the bidi control U+2066"),
    (one("office", "name", "\u200b\u200c\ufeff"), "office.name: has no visible character"),
    (one("office", "name", "   "), "office.name: has no visible character"),
    (one("office", "name", ""), "office.name: must not be empty"),
    (one("office", "name", "ب" * 121), "office.name: must be at most 120 characters, got 121"),
    (one("kiosk", "usb_mount", "/media\x00/x"), "kiosk.usb_mount: holds the control character U+0000"),
    ({"lanes": [{"code": "A", "prefix": "A", "title": "\u202bسایر"}], "counters": [{"number": 1, "lanes": ["A"]}]},
     "lanes[0].title: holds the bidi control U+202B"),
])
def test_bad_text(data, expected):
    assert expected in refused(data)


def test_persian_text_keeps_zwnj():
    name = "دفتر پیشخوان خدمات دولت می‌شود"
    assert parse_config(one("office", "name", name)).get("office.name") == name


@pytest.mark.parametrize("key, value", [
    ("device.id", "dev/0001"), ("device.id", "dev+#"), ("device.id", ""),
    ("office.office_id", "23 1234"), ("office.province", "tehran"), ("mqtt.topic_root", "/pishkhan"),
    ("mqtt.topic_root", "pishkhan/#"), ("mqtt.topic_root", "a//b"), ("mqtt.client_id", "dev 1"),
    ("mqtt.host", ""), ("mqtt.host", "broker host"), ("centre.verify_url", "ftp://x/"),
    ("centre.verify_url", "pishkhan.example.ir/verify/"), ("centre.verify_url", "https://a b"),
    ("compliance.report_time", "24:00"), ("compliance.report_time", "9:00"), ("compliance.report_time", "18:60"),
])
def test_names_and_addresses_have_a_form(key, value):
    assert f"{key}: " in refused(one(*key.split("."), value))


# -- printer ------------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", ["fake", "file:/tmp/p.bin", "usb:0x0416:0x5011", "usb:416:5011", "lp:/dev/usb/lp0",
                                 "serial:/dev/ttyUSB0", "serial:/dev/ttyUSB0:9600", "net:192.0.2.10", "net:printer:9100",
                                 "", "fake:x", "file:", "usb:0416", "usb:x:y", "lp:", "net:", "net:h:port", "net:h:99999",
                                 "cups:office", "FAKE"])
def test_printer_uri_is_checked_as_the_printer_reads_it(uri):
    from pishkhan.hardware.printer import open_printer

    try:
        open_printer(uri)
        opens = True
    except PrinterError:
        opens = False
    try:
        parse_config(one("printer", "uri", uri))
        accepted = True
    except ConfigError as e:
        assert "printer.uri" in str(e)
        accepted = False
    if uri == "net:h:99999":  # the printer module would only fail when connecting
        assert not accepted
    else:
        assert accepted == opens


# -- unknown keys -------------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    ({"ofice": {"name": "x"}}, "ofice: unknown section; did you mean 'office'?"),
    ({"lane": [{"code": "A"}]}, "lane: unknown section; did you mean 'lanes'?"),
    ({"weather": {}}, "weather: unknown section"),
    ({"kiosk": {"idle_timout": 30}}, "kiosk.idle_timout: unknown setting; did you mean 'idle_timeout'?"),
    ({"queue": {"goverment_fee": 1}}, "queue.goverment_fee: unknown setting"),
    ({"mqtt": {"keep_alive": 30}}, "mqtt.keep_alive: unknown setting; did you mean 'keepalive'?"),
    ({"office": "x"}, "office: must be a table"),
])
def test_unknown_keys_are_refused_with_a_hint(data, expected):
    assert expected in refused(data)


# -- mqtt ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mqtt, expected", [
    ({"cert_file": "/etc/pishkhan/dev.crt"}, "mqtt.cert_file and mqtt.key_file: give both"),
    ({"key_file": "/etc/pishkhan/dev.key"}, "mqtt.cert_file and mqtt.key_file: give both"),
    ({"username": "dev-0001"}, "mqtt.password_file: required when mqtt.username is set"),
    ({"reconnect_min_seconds": 30, "reconnect_max_seconds": 10}, "mqtt.reconnect_min_seconds: must not exceed"),
    ({"url": "http://broker:1883"}, "mqtt.url: must look like mqtt://host:port"),
    ({"url": "mqtt://broker:0"}, "mqtt.url: port must be from 1 to 65535"),
    ({"url": "mqtt://broker:70000"}, "mqtt.url: port must be from 1 to 65535"),
    ({"url": "mqtt://"}, "mqtt.url: must look like"),
    ({"url": "mqtts://bro ker"}, "mqtt.url: must look like"),
])
def test_mqtt_rules(mqtt, expected):
    assert expected in refused({"mqtt": mqtt})


def test_mqtt_endpoint_url_wins_over_host_port_tls():
    cfg = parse_config({"mqtt": {"host": "a", "port": 1, "tls": False, "url": "mqtts://broker.example.ir"}})
    assert mqtt_endpoint(cfg) == C.MqttEndpoint("broker.example.ir", 8883, True)
    assert mqtt_endpoint(parse_config({"mqtt": {"url": "mqtt://[::1]:1999/"}})) == C.MqttEndpoint("::1", 1999, False)
    assert mqtt_endpoint(parse_config({"mqtt": {"host": "b", "port": 8884, "tls": True}})) == C.MqttEndpoint("b", 8884, True)
    assert mqtt_endpoint(parse_config({})) == C.MqttEndpoint("localhost", 1883, False)


def test_mqtt_files_are_checked_at_agent_start_only(tmp_path):
    ca = tmp_path / "ca.pem"
    cfg = parse_config({"mqtt": {"tls": True, "ca_file": str(ca), "username": "u", "password_file": str(tmp_path / "pw")}})
    with pytest.raises(ConfigError) as info:
        check_agent_files(cfg)
    assert "mqtt.ca_file: no such file" in str(info.value) and "mqtt.password_file: no such file" in str(info.value)
    ca.write_text("pem")
    (tmp_path / "pw").write_text("secret\n")
    check_agent_files(cfg)
    # without TLS the CA file is not used, so not required
    check_agent_files(parse_config({"mqtt": {"ca_file": str(tmp_path / "none.pem")}}))


# -- all together, and from a file -----------------------------------------------------------------

def test_every_problem_is_listed_with_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[queue]\ndefault_service_minutes = nan\n[printer]\npaper = "90mm"\n[kiosk]\ntext_scale = 0\n'
                    'language = "de"\n[display]\norientation = "sideways"\n[hours]\nmonday = ["25:00-26:00"]\n'
                    '[[lanes]]\ncode = "A"\nprefix = "A"\ncategories = "id-card"\n'
                    '[[counters]]\nnumber = 1\nlanes = ["A"]\n[[counters]]\nnumber = 1\nlanes = ["A"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: bad configuration:")
    for key in ("queue.default_service_minutes", "printer.paper", "kiosk.text_scale", "kiosk.language",
                "display.orientation", "hours.monday[0]", "lanes[0].categories", "counters[1].number"):
        assert f"\n  {key}: " in text


def test_config_check_refuses_with_the_key_named(tmp_path, capsys):
    from cli.main import main

    path = tmp_path / "c.toml"
    path.write_text('[kiosk]\ntext_scale = 0.0\n', encoding="utf-8")
    assert main(["--config", str(path), "config", "check"]) == 1
    assert "kiosk.text_scale: must be from 0.5 to 3.0, got 0.0" in capsys.readouterr().err
    path.write_text('[kiosk]\ntext_scale = 1.5\n', encoding="utf-8")
    assert main(["--config", str(path), "config", "check"]) == 0
    assert "ok:" in capsys.readouterr().out


def test_unreadable_files(tmp_path):
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe[office]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(binary)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)  # a folder


# -- the table, the file and the docs --------------------------------------------------------------

#: Every setting the file had before the table, with its default: none may change.
EARLIER = {
    "device": {"id": "dev-0001", "state_dir": ""},
    "office": {"name": "دفتر پیشخوان خدمات دولت شماره ۱۲۳۴", "licence": "۲۳-۱۲۳۴", "office_id": "23-1234",
               "province": "23", "currency_unit": "rial", "allow_priority": True},
    "hours": {"always_open": False, **{d: ["07:30-14:30"] for d in ("saturday", "sunday", "monday", "tuesday",
                                                                       "wednesday")},
              "thursday": ["07:30-12:30"], "friday": [], "cutoff_margin_minutes": 10},
    "queue": {"normal_per_priority": 2, "no_show_after_recalls": 3, "default_service_minutes": 6.0},
    "hardware": {"pin_factory": "", "buzzer_pin": 18, "status_led_pin": 4, "hold_seconds": 1.5, "health": "pi"},
    "printer": {"uri": "fake", "paper": "80mm"},
    "kiosk": {"idle_timeout": 60, "staff_timeout": 120, "staff_pin_hash": "", "language": "fa", "text_scale": 1.0,
              "usb_mount": "/media"},
    "display": {"seconds_per_page": 12, "screen_power": ["cec", "blank"], "power_reassert_seconds": 300,
                "power_on_before_minutes": 15, "power_off_after_minutes": 15, "snapshot_seconds": 300,
                "snapshot_keep": 12, "voice": "espeak", "audio": "auto", "cec_device": "/dev/cec0",
                "orientation": "landscape"},
    "mqtt": {"host": "localhost", "port": 1883, "tls": False, "username": "", "password_file": "", "keepalive": 30},
}


def test_earlier_settings_keep_their_names_and_defaults():
    cfg = parse_config({})
    for section, values in EARLIER.items():
        for key, value in values.items():
            got = cfg.get(f"{section}.{key}")
            assert got == value and type(got) is type(value), f"{section}.{key}"
    assert [(lane.code, lane.prefix, lane.range, lane.categories) for lane in cfg.lanes] == [
        ("A", "A", None, ("id-card", "passport", "driving")), ("B", None, (101, 499), ("vehicle", "judicial")),
        ("C", "C", None, ("*",))]
    assert [(c.number, c.lanes, c.button_pin, c.led_pin) for c in cfg.counters] == [
        (1, ("A", "C"), 17, 27), (2, ("B", "C"), 22, 23), (3, ("C", "A", "B"), 24, 25)]


def test_new_settings_have_the_agreed_names_and_defaults():
    cfg = parse_config({})
    expected = {
        "mqtt.enabled": True, "mqtt.url": "", "mqtt.protocol": "5", "mqtt.ca_file": "", "mqtt.cert_file": "",
        "mqtt.key_file": "", "mqtt.client_id": "", "mqtt.reconnect_min_seconds": 1.0, "mqtt.reconnect_max_seconds": 120.0,
        "mqtt.telemetry_seconds": 60, "mqtt.inflight_window": 20, "mqtt.outbox_max_bytes": 50_000_000,
        "mqtt.outbox_max_age_days": 14, "mqtt.topic_root": "pishkhan/v1",
        "compliance.late_opening_minutes": 5, "compliance.early_closing_minutes": 5,
        "compliance.printer_out_minutes": 10, "compliance.display_off_minutes": 5,
        "compliance.clock_jump_seconds": 120, "compliance.report_time": "",
        "centre.verify_url": "https://pishkhan.example.ir/verify/",
    }
    for name, value in expected.items():
        assert cfg.get(name) == value and type(cfg.get(name)) is type(value), name


def test_every_default_passes_its_own_check():
    for s in SETTINGS:
        assert s.kind.check(s.default, s.name) == [], s.name
        assert s.section in C.SECTIONS
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for array in (LANES, COUNTERS):
        for row in array.defaults:
            for key, value in row.items():
                assert array.field(key).kind.check(value, key) == []


@pytest.mark.parametrize("kw", [{}, {"always_open": True, "printer": "file:/tmp/pishkhan printer.bin"},
                                {"printer": "usb:0x0416:0x5011"}])
def test_config_init_round_trips(kw, tmp_path):
    text = default_toml(**kw)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    defaults = parse_config({})
    for s in SETTINGS:
        want = {"hours.always_open": kw.get("always_open", False), "printer.uri": kw.get("printer", "fake")}.get(
            s.name, s.default)
        assert cfg.get(s.name) == want, s.name
    assert cfg.lanes == defaults.lanes and cfg.counters == defaults.counters
    # every setting is written with a comment above it or above its group
    lines = text.splitlines()
    for s in SETTINGS:
        i = lines.index(next(line for line in lines if line.startswith(f"{s.key} = ")))
        assert lines[i - 1].startswith("#") or not s.comment, s.name
    assert C.DEFAULT_TOML == default_toml()
    assert tomllib.loads(text) == tomllib.loads(default_toml(**kw))


def test_committed_docs_are_the_generated_docs():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == docs_markdown(), "docs/configuration.md is stale: run `pishkhan config docs --out docs/configuration.md`"
    for s in SETTINGS:
        assert f"| `{s.key}` |" in committed
    for array in (LANES, COUNTERS):
        assert f"## [[{array.name}]]" in committed


def test_config_docs_command(tmp_path, capsys):
    from cli.main import main

    assert main(["config", "docs"]) == 0
    assert capsys.readouterr().out == docs_markdown()
    assert main(["config", "docs", "--out", str(tmp_path / "c.md")]) == 0
    assert (tmp_path / "c.md").read_text(encoding="utf-8") == docs_markdown()


# -- any input: parsed or ConfigError, never another exception -----------------------------------

_KEYS = sorted({s.key for s in SETTINGS} | {f.key for a in (LANES, COUNTERS) for f in a.fields})
_GOOD = ["07:30-14:30", "08:00-12:00", "12:00-13:00", "fa", "en", "80mm", "58mm", "cec", "blank", "fake", "portrait",
         "mqtt://h:1883", "mqtts://h", "A", "B", "C", "*", "id-card", "file:/tmp/x", "usb:1:2", "net:h:9100", "5",
         "3.1.1", "", "https://x/", "08:30", "\u202e", "\x00", "۰۷:۳۰-۱۴:۳۰", "٠٧:٣٠-١٢:٣٠"]
_scalars = st.one_of(st.booleans(), st.integers(), st.integers(min_value=-2, max_value=30),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(_GOOD),
                     st.datetimes(), st.dates(), st.times())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=6) | st.sampled_from(_KEYS), inner, max_size=3), max_leaves=8)
_key = st.sampled_from(_KEYS) | st.text(max_size=10)
_row = st.dictionaries(_key, _values | st.lists(st.sampled_from(["A", "B", "C", "*", "Z"]), max_size=3), max_size=5)
_doc = st.fixed_dictionaries({}, optional={
    **{section: st.dictionaries(_key, _values, max_size=5) | _values for section in C.SECTIONS},
    "lanes": st.lists(_row, max_size=4) | _values,
    "counters": st.lists(_row, max_size=4) | _values,
    "somethingelse": _values,
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_doc)
def test_any_input_parses_or_is_refused_in_words(doc):
    try:
        cfg = parse_config(doc)
    except ConfigError as e:
        assert "bad configuration" in str(e)
        return
    for s in SETTINGS:  # whatever is accepted holds values its own checks pass, and works
        assert s.kind.check(cfg.get(s.name), s.name) == []
    hours_from_config(cfg)
    mqtt_endpoint(cfg)
    assert cfg.lanes and cfg.counters


_setting = st.sampled_from(SETTINGS)


@settings(max_examples=300, deadline=None)
@given(_setting, _values)
def test_a_refused_value_names_its_key(setting, value):
    try:
        cfg = parse_config(one(setting.section, setting.key, value))
    except ConfigError as e:
        assert setting.name in str(e)
        return
    assert cfg.get(setting.name) == value
