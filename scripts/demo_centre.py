"""`make demo`, second part: the office and its centre, on embedded defaults.

Run by scripts/demo.py after the kiosk and the wall display, with demo-out/ as
its argument. It starts its own Mosquitto on a free loopback port (password
file and ACL, no system service), the centre's fleet monitor serving the
dashboard, and the office's edge agent; the centre publishes a newer board and
the province's schedule; a scripted stretch of an office day follows
(customers, a counter, one printer fault, a signed command asking for the
day's report). It prints what the centre received from this office — birth,
a telemetry message, the compliance state, the day's report so far, and the
monitor's JSON for the office — and saves screenshots of the dashboard pages,
taken by headless Chromium, in demo-out/dashboard/. Each step runs the real
`pishkhan` command.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out").resolve()
CENTRE = OUT / "centre"
BIN = Path(sys.executable).with_name("pishkhan")
DEVICE = "dev-0001"
PASSWORD = "demo-password"
ENV = dict(os.environ)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(title: str, *args, config: Path | None = None, stdin: str | None = None, check: bool = True) -> str:
    shown = " ".join(str(a) for a in args)
    print(f"\n== {title}\n$ pishkhan {shown}", flush=True)
    cmd = [str(BIN)] + (["--config", str(config)] if config else []) + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, input=stdin, timeout=120)
    text = (proc.stdout + proc.stderr).strip()
    if text:
        print(text)
    if check and proc.returncode != 0:
        sys.exit(f"demo step failed: {title}")
    return proc.stdout


# -- the broker --------------------------------------------------------------------
def start_broker(port: int, device_port: int) -> subprocess.Popen:
    """Mosquitto with the centre's listener on *port* and the devices' on *device_port*."""
    from pishkhan.protocol.topics import mosquitto_acl, mosquitto_listeners

    broker = CENTRE / "broker"
    broker.mkdir(parents=True)
    passwords = {"centre": broker / "centre-passwords", DEVICE: broker / "device-passwords"}
    for user, path in passwords.items():
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(path), user, PASSWORD], check=True, capture_output=True)
    (broker / "acl").write_text(mosquitto_acl(), encoding="utf-8")
    lines = [*mosquitto_listeners(devices=("127.0.0.1", device_port), centre=("127.0.0.1", port),
                                  device_passwords=passwords[DEVICE], centre_passwords=passwords["centre"],
                                  acl_file=broker / "acl"),
             "persistence false", f"log_dest file {broker / 'mosquitto.log'}"]
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to its own user and cannot read these files
    (broker / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.Popen(["mosquitto", "-c", str(broker / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                print(f"\n== a local Mosquitto: the centre's listener on 127.0.0.1:{port}, the devices' on "
                      f"127.0.0.1:{device_port} (password files and ACL in {broker})", flush=True)
                return proc
        except OSError:
            time.sleep(0.1)
    sys.exit("demo step failed: Mosquitto did not start")


class Listener:
    """What the centre receives from this office: a subscriber as the centre user."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-listener",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set("centre", PASSWORD)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: c.subscribe(f"pishkhan/v1/dev/{DEVICE}/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        with self.lock:
            self.messages.append((msg.topic.rsplit("/", 1)[-1], body))

    def wait(self, stream: str, pred=lambda m: True, timeout: float = 60.0) -> dict | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                found = [m for s, m in self.messages if s == stream and pred(m)]
            if found:
                return found[-1]
            time.sleep(0.2)
        return None

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def show(title: str, message: dict | None):
    print(f"\n-- the centre received: {title}")
    print(json.dumps(message, ensure_ascii=False, indent=2) if message else "   (nothing within the time allowed)")


# -- the office's configuration -------------------------------------------------------
def office_config(port: int) -> Path:
    """The demo's configuration with the broker's address and the device's credentials."""
    text = (OUT / "pishkhan.toml").read_text(encoding="utf-8")
    (CENTRE / "device.password").write_text(PASSWORD + "\n", encoding="utf-8")
    section = {"host": '"127.0.0.1"', "port": str(port), "username": f'"{DEVICE}"',
               "password_file": f'"{CENTRE / "device.password"}"', "telemetry_seconds": "5", "keepalive": "10"}
    head, _, rest = text.partition("\n[mqtt]\n")
    body, sep, tail = rest.partition("\n[")
    for key, value in section.items():
        body = re.sub(rf"^{key} = .*$", f"{key} = {value}", body, count=1, flags=re.M)
    path = OUT / "office.toml"
    path.write_text(f"{head}\n[mqtt]\n{body}{sep}{tail}", encoding="utf-8")
    return path


# -- the dashboard, as a person at the centre sees it -----------------------------------
def dashboard_screenshots(url: str, code: str | None) -> dict | None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    shots = OUT / "dashboard"
    shots.mkdir(exist_ok=True)
    profile = CENTRE / "chromium-profile"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1366,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    office = None
    try:
        driver.get(f"{url}/login")
        driver.find_element(By.NAME, "username").send_keys("ops")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button, form [type=submit]").click()
        time.sleep(1)
        pages = [("fleet", "/"), ("province-23", "/?province=23"), ("office", f"/device/{DEVICE}"),
                 ("report", "/report")]
        if code:
            pages.append(("verify", f"/verify/{code}"))
        for name, path in pages:
            driver.get(url + path)
            time.sleep(0.8)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1366, min(max(height, 900), 4000))
            driver.save_screenshot(str(shots / f"{name}.png"))
            print(f"   {shots / (name + '.png')}  ({path})")
        driver.get(f"{url}/api/device/{DEVICE}")
        office = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return office


def main() -> int:
    if CENTRE.exists():
        shutil.rmtree(CENTRE)
    CENTRE.mkdir(parents=True)
    port, device_port, web = free_port(), free_port(), free_port()
    broker = start_broker(port, device_port)
    procs: list[subprocess.Popen] = []
    listener = None
    try:
        config = office_config(device_port)
        keys = CENTRE / "keys"
        run("the centre's command key", "central", "keys", "new", "ops", "--kind", "command", "--dir", keys)
        run("the device trusts it for commands", "keys", "trust", keys / "ops.pub", "--scope", "command",
            "--label", "centre commands", config=config)
        run("a dashboard user at the centre", "central", "users", "add", "ops", "--db", CENTRE / "fleet.db",
            stdin=PASSWORD + "\n")
        from pishkhan.config import load_config

        office = load_config(config)
        run("the centre registers the office's device (the registry, not the device, says where it belongs)",
            "central", "devices", "add", DEVICE, "--office", office.get("office.office_id"),
            "--province", office.get("office.province"), "--name", office.get("office.name"),
            "--db", CENTRE / "fleet.db")
        # The centre's trust list (the monitor's and `central publish`'s): the ministry key may sign any scope's
        # documents (as the device trusts it).
        trust = CENTRE / "centre-trust.pem"
        trust.write_text("Scope: any\nLabel: ministry\n" + (OUT / "keys/ministry.pub").read_text(encoding="ascii"),
                         encoding="ascii")
        print(f"\n== the centre's fleet monitor, with its dashboard on http://127.0.0.1:{web}/ "
              f"(official documents: those that verify against {trust})", flush=True)
        procs.append(subprocess.Popen(
            [str(BIN), "--config", str(config), "central", "monitor", "--broker", f"mqtt://127.0.0.1:{port}",
             "--db", str(CENTRE / "fleet.db"), "--username", "centre", "--password-file",
             str(CENTRE / "device.password"), "--trust", str(trust), "--listen", f"127.0.0.1:{web}"],
            env=ENV, stdout=subprocess.DEVNULL, stderr=open(CENTRE / "monitor.log", "w")))
        listener = Listener(port)
        print("\n== the office's edge agent (pishkhan agent)", flush=True)
        procs.append(subprocess.Popen([str(BIN), "--config", str(config), "agent"], env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=open(CENTRE / "agent.log", "w")))
        show("birth (retained status)", listener.wait("status", lambda m: m.get("state") == "online"))

        # The centre publishes a newer national board and the province's schedule.
        board = json.loads((OUT / "sample-board.json").read_text(encoding="utf-8"))
        newer = copy.deepcopy(board)
        newer["version"] = board["version"] + 1
        (CENTRE / "board-v2.json").write_text(json.dumps(newer, ensure_ascii=False, indent=1), encoding="utf-8")
        schedule = CENTRE / "schedule.json"
        schedule.write_bytes(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_bytes())
        broker_args = ["--broker", f"mqtt://127.0.0.1:{port}", "--username", "centre", "--password-file",
                       CENTRE / "device.password"]
        run("the centre publishes board version 2 (national, retained)", "central", "publish", "board",
            CENTRE / "board-v2.json", "--scope", "national", "--key", OUT / "keys/ministry.key", "--trust", trust,
            *broker_args)
        run("the centre publishes the province's working hours", "central", "publish", "schedule", schedule,
            "--scope", "province:23", "--key", OUT / "keys/ministry.key", "--trust", trust, *broker_args)
        reported = listener.wait("reported", lambda m: ((m.get("applied") or {}).get("board") or {}).get("version")
                                 == "2", timeout=60)
        show("reported state (what the office applied)", reported)

        # A stretch of the office's day.
        run("counter 1 opens", "counter", "open", "1", config=config)
        for service in ("ID-01", "VEH-01", "ID-01"):
            run(f"a customer takes a ticket for {service}", "queue", "issue", "--service", service, config=config)
        run("the printer fails (its connection is refused)", "queue", "issue", "--service", "ID-01", "--printer",
            "net:127.0.0.1:9", config=config, check=False)
        run("counter 1 calls the next customer", "queue", "next", "--counter", "1", config=config)
        run("the paper is back: the next ticket prints", "queue", "issue", "--service", "VEH-01", config=config)
        show("telemetry", listener.wait("telemetry", lambda m: "office" in (m.get("readings") or {}), timeout=30))
        # A minute is judged from its start: the first minute the agent saw whole is the next one.
        wait = 62 - time.time() % 60
        print(f"\n== waiting {wait:.0f} s for the first whole minute the agent has seen", flush=True)
        time.sleep(wait)

        def judged(m):
            state = ((m.get("readings") or {}).get("compliance") or {}).get("state")
            return state not in (None, "unknown")
        latest = listener.wait("telemetry", judged, timeout=30) or listener.wait(
            "telemetry", lambda m: "compliance" in (m.get("readings") or {}), timeout=1)
        show("the compliance state now (in telemetry)", ((latest or {}).get("readings") or {}).get("compliance"))
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3.5 * 3600))
        run("the centre asks for the day's report (a signed command)", "central", "command", DEVICE,
            "resend_report", f"date={today}", "--key", "ops", "--keys-dir", keys, *broker_args)
        show("the day's report so far", listener.wait("report", timeout=30))
        events = [m for s, m in listener.messages if s == "event"]
        print(f"\n-- events received: {[e.get('event') for e in events] or 'none yet'}")
        time.sleep(3)  # the monitor's last batch

        print("\n== the dashboard, in headless Chromium (screenshots in demo-out/dashboard/)", flush=True)
        # The code on the wall's QR now: the board the centre published and the office applied.
        code = (((reported or {}).get("applied") or {}).get("board") or {}).get("verification_code")
        office = dashboard_screenshots(f"http://127.0.0.1:{web}", code)
        print("\n-- the monitor's JSON for this office (/api/device/dev-0001):")
        print(json.dumps(office, ensure_ascii=False, indent=2)[:6000])
        run("the centre's daily report by province", "central", "report", "--format", "csv", "--db",
            CENTRE / "fleet.db")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if listener is not None:
            listener.close()
        broker.terminate()
        broker.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
