"""Health readings: the real reader on a folder laid out like a Pi, on this machine, and the fake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pishkhan.exc import ConfigError
from pishkhan.hardware.health import READINGS, FakeHealth, PiHealth, decode_throttled


def lay_out_pi(root: Path, state_dir: Path, *, throttled="0x50005", wireless=True):
    st = os.stat(state_dir)
    dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    files = {
        "proc/uptime": "12345.67 20000.00\n",
        "proc/loadavg": "0.42 0.30 0.20 1/150 999\n",
        "proc/meminfo": "MemTotal:        1912348 kB\nMemFree:          100000 kB\nMemAvailable:    1200000 kB\n",
        "sys/class/thermal/thermal_zone0/temp": "51540\n",
        f"sys/dev/block/{dev}/stat": "  1000 0 20000 300  4000 0 81920 900 0 0 0 0 0 0 0 0 0\n",
        f"sys/dev/block/{dev}/uevent": "MAJOR=179\nMINOR=2\nDEVNAME=mmcblk0p2\nDEVTYPE=partition\n",
        "sys/fs/ext4/mmcblk0p2/errors_count": "3\n",
        "proc/net/route": "Iface\tDestination\tGateway\tFlags\nwlan0\t00000000\t0101A8C0\t0003\n",
    }
    if throttled is not None:
        files["sys/devices/platform/soc/soc:firmware/get_throttled"] = f"{throttled}\n"
    if wireless:
        files["proc/net/wireless"] = ("Inter-| sta-|   Quality        |   Discarded packets\n"
                                      " face | tus | link level noise |  nwid  crypt   frag\n"
                                      " wlan0: 0000   54.  -56.  -256        0      0      0\n")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_a_pi_layout_gives_every_reading(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    lay_out_pi(tmp_path / "root", state)
    r = PiHealth(state, root=str(tmp_path / "root"), vcgencmd=None).read()
    assert r["uptime_s"] == 12345.7 and r["cpu_temp_c"] == 51.5 and r["load_1m"] == 0.42
    assert (r["mem_total_kb"], r["mem_available_kb"]) == (1912348, 1200000)
    assert r["storage_written_bytes"] == 81920 * 512 and r["fs_errors"] == 3
    assert r["net_iface"] == "wlan0" and r["wifi_signal_dbm"] == -56.0
    t = r["throttled"]
    assert t["under_voltage"] and t["throttling"] and t["under_voltage_occurred"] and t["throttling_occurred"]
    assert not t["freq_capped"] and not t["soft_temp_limit_occurred"] and t["raw"] == "0x50005"
    assert r["disk_free_bytes"] > 0 and set(r) == set(READINGS)


def test_what_a_machine_lacks_is_absent_not_invented(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "root" / "proc").mkdir(parents=True)
    (tmp_path / "root" / "proc" / "uptime").write_text("99.0 1.0\n")
    r = PiHealth(state, root=str(tmp_path / "root"), vcgencmd=None).read()
    assert r["uptime_s"] == 99.0
    for name in ("cpu_temp_c", "throttled", "mem_total_kb", "storage_written_bytes", "fs_errors", "net_iface",
                 "wifi_signal_dbm", "load_1m"):
        assert r[name] is None, name


def test_a_garbled_file_is_absent_and_the_rest_still_read(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    lay_out_pi(tmp_path / "root", state, throttled="not-hex")
    r = PiHealth(state, root=str(tmp_path / "root"), vcgencmd=None).read()
    assert r["throttled"] is None and r["cpu_temp_c"] == 51.5


def test_this_machine(tmp_path):
    r = PiHealth(tmp_path).read()
    assert r["uptime_s"] > 0 and r["load_1m"] is not None and r["mem_total_kb"] > 0
    assert r["disk_total_bytes"] >= r["disk_free_bytes"] > 0
    assert (r["cpu_temp_c"] is None) == (not Path("/sys/class/thermal/thermal_zone0/temp").exists())
    assert (r["wifi_signal_dbm"] is None) or r["net_iface"]


def test_decode_throttled_names_each_bit():
    assert decode_throttled(0x1)["under_voltage"] and not decode_throttled(0x1)["throttling"]
    assert decode_throttled(0x80000)["soft_temp_limit_occurred"]


def test_the_fake_gives_what_it_was_told_and_refuses_unknown_readings():
    assert FakeHealth(cpu_temp_c=80.0).read()["cpu_temp_c"] == 80.0
    assert FakeHealth().read()["uptime_s"] is None
    with pytest.raises(ConfigError, match="cpu_temperature"):
        FakeHealth(cpu_temperature=1)
