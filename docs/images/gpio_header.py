"""Draw docs/images/gpio-header.svg: the 40-pin header with the default pins of pishkhan/config.py marked.

Run from the repository root: ``.venv/bin/python docs/images/gpio_header.py``
(tests/provisioning/test_check.py fails when the picture and the defaults differ).
"""

from pathlib import Path

from pishkhan.config import COUNTERS, SETTINGS

PINS = {1: "3V3", 2: "5V", 3: "GPIO2", 4: "5V", 5: "GPIO3", 6: "GND", 7: "GPIO4", 8: "GPIO14", 9: "GND",
        10: "GPIO15", 11: "GPIO17", 12: "GPIO18", 13: "GPIO27", 14: "GND", 15: "GPIO22", 16: "GPIO23",
        17: "3V3", 18: "GPIO24", 19: "GPIO10", 20: "GND", 21: "GPIO9", 22: "GPIO25", 23: "GPIO11",
        24: "GPIO8", 25: "GND", 26: "GPIO7", 27: "GPIO0", 28: "GPIO1", 29: "GPIO5", 30: "GND", 31: "GPIO6",
        32: "GPIO12", 33: "GPIO13", 34: "GND", 35: "GPIO19", 36: "GPIO16", 37: "GPIO26", 38: "GPIO20",
        39: "GND", 40: "GPIO21"}
BCM_TO_PHYSICAL = {int(name[4:]): pin for pin, name in PINS.items() if name.startswith("GPIO")}
DEFAULTS = {s.key: s.default for s in SETTINGS if s.section == "hardware"}
USED = {BCM_TO_PHYSICAL[DEFAULTS["status_led_pin"]]: ("Status LED", "led"),
        BCM_TO_PHYSICAL[DEFAULTS["buzzer_pin"]]: ("Buzzer (via transistor)", "buzzer"),
        4: ("5 V for the buzzer", "power")}
for row in COUNTERS.defaults:
    USED[BCM_TO_PHYSICAL[row["button_pin"]]] = (f"Counter {row['number']} button", "button")
    USED[BCM_TO_PHYSICAL[row["led_pin"]]] = (f"Counter {row['number']} LED", "led")
USED |= {pin: ("GND", "ground") for pin, name in PINS.items() if name == "GND"}
COLOR = {"button": "#1f77b4", "led": "#2ca02c", "buzzer": "#ff7f0e", "power": "#d62728", "ground": "#222222"}
W, ROW, TOP = 900, 26, 125
CX = {1: 410, 0: 470}  # odd pins left column, even pins right column
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{TOP + 20 * ROW + 190}" '
       f'viewBox="0 0 {W} {TOP + 20 * ROW + 190}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">',
       '<rect width="100%" height="100%" fill="#ffffff"/>',
       '<text x="450" y="30" text-anchor="middle" font-size="20" font-weight="bold">Raspberry Pi 40-pin header: '
       'Pishkhan default pins</text>',
       '<text x="450" y="52" text-anchor="middle" fill="#555">Board seen from above, USB and Ethernet ports pointing '
       'down: the header runs down the right edge,</text>',
       '<text x="450" y="70" text-anchor="middle" fill="#555">pin 1 (square pad) at the top of the inner row; '
       'even pins along the board edge</text>',
       '<text x="450" y="88" text-anchor="middle" fill="#555">Labels: physical pin · BCM GPIO number · what it is '
       'wired to (hardware.* and [[counters]] in pishkhan.toml)</text>',
       f'<rect x="385" y="{TOP - 18}" width="110" height="{20 * ROW + 10}" rx="6" fill="#2b2b2b"/>']
for n in range(1, 41):
    row, odd = (n - 1) // 2, n % 2
    x, y = CX[odd], TOP + row * ROW
    name = PINS[n]
    use = USED.get(n)
    kind = use[1] if use else None
    fill = COLOR[kind] if kind else ("#c0392b" if name in ("5V", "3V3") else "#888888")
    if n == 1:
        out.append(f'<rect x="{x - 9}" y="{y - 9}" width="18" height="18" fill="#d4a017" stroke="#fff"/>')
    else:
        out.append(f'<circle cx="{x}" cy="{y}" r="9" fill="#d4a017" stroke="#fff"/>')
    if use:
        out.append(f'<circle cx="{x}" cy="{y}" r="5" fill="{fill}"/>')
    anchor = "end" if odd else "start"
    label_x = x - 40 if odd else x + 40
    weight = ' font-weight="bold"' if use and kind not in ("ground",) else ""
    if use and kind != "ground":
        text = (f"{use[0]}  ·  {name}  ·  pin {n}" if odd else f"pin {n}  ·  {name}  ·  {use[0]}")
    elif odd:
        text = f"{name}  ·  pin {n}"
    else:
        text = f"pin {n}  ·  {name}"
    color = COLOR[kind] if use else "#555"
    out.append(f'<text x="{label_x}" y="{y + 4}" text-anchor="{anchor}" fill="{color}"{weight}>{text}</text>')
# legend
ly = TOP + 20 * ROW + 20
legend = [("button", "Counter call button: GPIO pin to one leg, GND to the other (internal pull-up)"),
          ("led", "LED: GPIO pin → 330 Ω resistor → LED long leg (+); short leg (−) → GND"),
          ("buzzer", f"Buzzer: GPIO{DEFAULTS['buzzer_pin']} → 1 kΩ → NPN base (BC547/2N2222); emitter → GND; "
                     "collector → buzzer (−); buzzer (+) → 5 V"),
          ("power", "5 V supply pin (only for the buzzer; never connect 5 V to a GPIO pin)"),
          ("ground", "GND: any of these may be used")]
for i, (kind, text) in enumerate(legend):
    y = ly + i * 24
    out.append(f'<circle cx="60" cy="{y}" r="7" fill="{COLOR[kind]}"/>')
    out.append(f'<text x="78" y="{y + 4}">{text}</text>')
out.append(f'<text x="60" y="{ly + 5 * 24 + 10}" fill="#555">Unmarked pins stay free. Pins are BCM numbers in the '
           'configuration (e.g. counters[0].button_pin = 17 is physical pin 11).</text>')
out.append("</svg>")
Path(__file__).with_name("gpio-header.svg").write_text("\n".join(out) + "\n", encoding="utf-8")
