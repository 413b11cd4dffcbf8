"""The configuration loader merges the drop-ins beside the file (pishkhan.d/*.toml) over it."""

from __future__ import annotations

import pytest

from pishkhan.config import drop_in_dir, load_config
from pishkhan.exc import ConfigError


def test_drop_ins_win_key_by_key_in_name_order_and_leave_the_main_file_alone(tmp_path):
    main = tmp_path / "pishkhan.toml"
    main.write_text('[office]\nname = "دفتر ۱"\nprovince = "23"\n\n[mqtt]\nkeepalive = 40\n', encoding="utf-8")
    assert drop_in_dir(main) == tmp_path / "pishkhan.d"
    assert load_config(main).get("office.name") == "دفتر ۱"  # no folder: the file alone
    (tmp_path / "pishkhan.d").mkdir()
    (tmp_path / "pishkhan.d" / "enrolment.toml").write_text(
        '[office]\nprovince = "21"\n\n[enrolment]\nserver = "https://enrol.test:8443"\n', encoding="utf-8")
    (tmp_path / "pishkhan.d" / "zz-local.toml").write_text('[office]\nprovince = "22"\n', encoding="utf-8")
    (tmp_path / "pishkhan.d" / "notes.txt").write_text("not toml, not read", encoding="utf-8")
    config = load_config(main)
    assert config.get("office.name") == "دفتر ۱" and config.get("mqtt.keepalive") == 40
    assert config.get("office.province") == "22"
    assert config.get("enrolment.server") == "https://enrol.test:8443"


def test_a_bad_drop_in_is_named(tmp_path):
    main = tmp_path / "pishkhan.toml"
    main.write_text("", encoding="utf-8")
    (tmp_path / "pishkhan.d").mkdir()
    bad = tmp_path / "pishkhan.d" / "enrolment.toml"
    bad.write_text("[device\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="enrolment.toml: not valid TOML"):
        load_config(main)
    bad.write_text('[enrolment]\nserver = "http://plain.test"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="enrolment.server"):
        load_config(main)
