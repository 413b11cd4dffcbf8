"""`make demo`, second part: the office and its centre, on embedded defaults.

Run by scripts/demo.py after the kiosk and the wall display, with demo-out/ as
its argument. The centre makes its certificate authority and the server
certificates of its enrolment server and broker, starts its own Mosquitto on
free loopback ports (devices by client certificate from that CA, with its
CRL; the centre's tools by password), the enrolment server over HTTPS, and
makes a claim code for the office. The device enrols with it as a real office
does (`pishkhan provision enroll`: its own key, its certificate, the drop-in
demo-out/pishkhan.d/enrolment.toml, the centre's keys trusted), runs
`pishkhan provision check`, and its edge agent connects with its certificate
— no password. The centre's fleet monitor serves the dashboard; the centre
publishes a newer board and the province's schedule; a scripted stretch of an
office day follows (customers, a counter, one printer fault, a signed command
asking for the day's report). Then a circular: the centre makes a Persian
PDF, publishes it (`pishkhan central publish circular`; the enrolment server
serves the circulars' pool over HTTPS), the office's agent fetches it with
the centre's CA pinned and keeps it, staff acknowledge it on the kiosk (the
PIN typed on the pad and the library's buttons touched, Kivy touches headless
under Xvfb; screenshots in demo-out/kiosk/staff-*.png), and the centre counts
it received and acknowledged. It prints what the centre received from this
office — birth, a telemetry message, the compliance state, the day's report
so far, the circular's counts, and the monitor's JSON for the office — and
saves screenshots of the dashboard pages (the Circulars page among them),
taken by headless Chromium, in demo-out/dashboard/. Each step runs the real
`pishkhan` command.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
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
CA = CENTRE / "ca"
BIN = Path(sys.executable).with_name("pishkhan")
CONFIG = OUT / "pishkhan.toml"  # the device's configuration; enrolment adds pishkhan.d/enrolment.toml beside it
PASSWORD = "demo-password"  # the centre's own accounts (its broker listener, the dashboard); no device has one
POOL = CENTRE / "circulars" / "pool"  # the circulars' pool the enrolment server serves
#: The demo's circular, and the staff PIN the demo sets on the kiosk (no pattern: `kiosk set-pin` refuses 1234).
NUMBER, TITLE = "1405/123", "بخشنامهٔ ساعت کار دفاتر"
SUMMARY = "ساعت کار دفاتر پیشخوان در روزهای پنجشنبه تا ساعت ۱۳ است."
PIN = "4826"
ENV = dict(os.environ)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run(title: str, *args, config: Path | None = None, stdin: str | None = None, check: bool = True) -> str:
    shown = " ".join(str(a) for a in args)
    print(f"\n== {title}\n$ pishkhan {shown}", flush=True)
    cmd = [str(BIN)] + (["--config", str(config)] if config else []) + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, input=stdin, timeout=120)
    text = (proc.stdout + ("\n" if proc.stdout and proc.stderr else "") + proc.stderr).strip()
    if text:
        print(text)
    if check and proc.returncode != 0:
        sys.exit(f"demo step failed: {title}")
    return proc.stdout


# -- the broker --------------------------------------------------------------------
def start_broker(port: int, device_port: int) -> subprocess.Popen:
    """Mosquitto as the centre ships it (central/broker/): devices on *device_port* by certificate, the centre's
    tools on *port* by password."""
    from central.broker import fleet_config
    from pishkhan.protocol.topics import mosquitto_acl

    broker = CENTRE / "broker"
    # The broker reads copies (the CA's folder is 0700): the CA certificate and its CRL (docs/broker.md).
    shutil.copyfile(CA / "ca.pem", broker / "pishkhan-ca.pem")
    shutil.copyfile(CA / "crl.pem", broker / "pishkhan-crl.pem")
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(broker / "centre-passwords"), "centre", PASSWORD],
                   check=True, capture_output=True)
    (broker / "pishkhan.acl").write_text(mosquitto_acl(), encoding="utf-8")
    # the devices' listener reads an ACL without the centre's accounts (a device certificate named "centre" gets
    # only a device's rights: docs/broker.md)
    (broker / "pishkhan-devices.acl").write_text(mosquitto_acl(centre_users=()), encoding="utf-8")
    lines = [fleet_config(devices=("127.0.0.1", device_port), centre=("127.0.0.1", port),
                          cafile=broker / "pishkhan-ca.pem", crlfile=broker / "pishkhan-crl.pem",
                          certfile=broker / "broker.pem", keyfile=broker / "broker.key",
                          centre_passwords=broker / "centre-passwords", acl_file=broker / "pishkhan.acl",
                          device_acl_file=broker / "pishkhan-devices.acl"),
             "persistence false", f"log_dest file {broker / 'mosquitto.log'}", f"pid_file {broker / 'mosquitto.pid'}"]
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to its own user and cannot read these files
    (broker / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.Popen(["mosquitto", "-c", str(broker / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    if not (wait_for_port(port, proc, 10) and wait_for_port(device_port, proc, 10)):
        sys.exit("demo step failed: Mosquitto did not start (see demo-out/centre/broker/mosquitto.log)")
    print(f"\n== a local Mosquitto ({broker / 'mosquitto.conf'}, central/broker/'s configuration): the devices' "
          f"listener on 127.0.0.1:{device_port} (TLS, a client certificate from the centre's CA, not in its CRL; "
          f"require_certificate, use_identity_as_username), the centre's on 127.0.0.1:{port} (password)", flush=True)
    return proc


class Listener:
    """What the centre receives from this office: a subscriber as the centre user."""

    def __init__(self, port: int, device: str):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-listener",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set("centre", PASSWORD)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: c.subscribe(f"pishkhan/v1/dev/{device}/#", qos=1)
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
def demo_settings() -> Path:
    """The demo's own drop-in: telemetry every 5 s and a short keepalive, so the centre hears the office soon; the
    centre's CA where the agent pins it for the circulars' files.

    Nothing about the broker or the device's identity: enrolment writes those (``enrolment.toml``, beside it).
    """
    from pishkhan.config import drop_in_dir

    folder = drop_in_dir(CONFIG)
    folder.mkdir(exist_ok=True)
    path = folder / "demo.toml"
    path.write_text("# The demo's own settings (scripts/demo_centre.py).\n[mqtt]\ntelemetry_seconds = 5\n"
                    "keepalive = 10\n"
                    "# The centre's CA, pinned to fetch circulars (a device has it as /etc/pishkhan/centre-ca.pem).\n"
                    f"[update]\nca_file = \"{CA / 'ca.pem'}\"\n", encoding="utf-8")
    return path


def enrolled_device() -> str:
    """The device id the centre gave this device (in the configuration enrolment wrote)."""
    from pishkhan.config import load_config

    return load_config(CONFIG).device_id


# -- the dashboard, as a person at the centre sees it -----------------------------------
def dashboard_screenshots(url: str, device: str, code: str | None) -> dict | None:
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
        pages = [("fleet", "/"), ("province-23", "/?province=23"), ("office", f"/device/{device}"),
                 ("report", "/report"), ("circulars", "/circulars")]
        if code:
            pages.append(("verify", f"/verify/{code}"))
        for name, path in pages:
            driver.set_window_size(1366, 900)
            driver.get(url + path)
            time.sleep(0.8)
            for _ in range(3):  # the whole page: a taller window can lay it out taller still
                height = driver.execute_script("return document.documentElement.scrollHeight")
                inner = driver.execute_script("return window.innerHeight")
                if inner >= min(height, 5000):
                    break
                outer = driver.get_window_size()["height"]
                driver.set_window_size(1366, min(max(height, 900), 5000) + outer - inner)
                time.sleep(0.3)
            driver.save_screenshot(str(shots / f"{name}.png"))
            print(f"   {shots / (name + '.png')}  ({path})")
        driver.get(f"{url}/api/device/{device}")
        office = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return office


# -- a circular, from the centre to the office's staff and back --------------------------
def persian_pdf(path: Path) -> Path:
    """The circular's PDF: an A4 page with its Persian title, number and summary, drawn with Pillow (raqm)."""
    from PIL import Image, ImageDraw

    from pishkhan.render.typeset import draw_text, font
    from pishkhan.text.persian import to_persian_digits as to_persian

    page = Image.new("RGB", (595, 842), "white")
    draw = ImageDraw.Draw(page)
    draw_text(draw, (555, 60), TITLE, font(36, "Bold"))
    draw_text(draw, (555, 120), f"شماره {to_persian(NUMBER)}", font(22))
    draw.line((40, 170, 555, 170), fill="black", width=3)
    draw_text(draw, (555, 200), SUMMARY, font(18))
    page.save(path, "PDF", resolution=72)
    return path


def circular(broker_args: list, trust: Path, fleet_db: Path, listener: Listener) -> dict | None:
    """Publish the demo's circular, wait for the office to keep it, acknowledge it on the kiosk as staff, and wait
    for the centre to count both; the centre's counts for it (central/circulars/view.py), or None."""
    from central.circulars.view import circulars_view
    from central.db import open_db

    def event(name):
        return lambda m: m.get("event") == name and (m.get("detail") or {}).get("number") == NUMBER

    pdf = persian_pdf(CENTRE / "bakhshname-1405-123.pdf")
    run("the centre publishes a circular: a Persian PDF into the pool the enrolment server serves over HTTPS, "
        "its signed index retained", "central", "publish", "circular", pdf, "--scope", "national", "--number", NUMBER,
        "--title", TITLE, "--summary", SUMMARY, "--key", OUT / "keys/ministry.key", "--trust", trust, "--db",
        fleet_db, "--circulars-pool", POOL, *broker_args)
    show("circular_received (the agent fetched the PDF, checked its hash and kept it)",
         listener.wait("event", event("circular_received"), timeout=60))
    run("the office's library keeps it", "circulars", "show", NUMBER, config=CONFIG, check=False)
    run("every kept file hashed again", "circulars", "verify", config=CONFIG, check=False)
    run("the staff PIN of the kiosk", "kiosk", "set-pin", "--pin", PIN, config=CONFIG)
    run("staff acknowledge it on the kiosk: the PIN on the pad, the library, the circular, its first page, "
        "«خواندم؛ تأیید» (touches, headless)", "kiosk", "--script", "library", "--screenshots", OUT / "kiosk",
        config=CONFIG, stdin=PIN + "\n", check=False)
    show("circular_acknowledged", listener.wait("event", event("circular_acknowledged"), timeout=30))
    db = open_db(str(fleet_db))
    try:
        end = time.monotonic() + 30
        while True:  # the monitor takes the events into circular_offices
            found = [c for c in circulars_view(db, now=dt.datetime.now(dt.timezone.utc))["circulars"]
                     if c["number"] == NUMBER]
            counted = found[0] if found else None
            if (counted and counted["acknowledged"]) or time.monotonic() > end:
                break
            time.sleep(0.5)
    finally:
        db.close()
    print(f"\n-- the centre counts it: {counts_line(counted)}")
    return counted


def counts_line(c: dict | None) -> str:
    """The centre's counts for the demo's circular, in Persian and in English."""
    from pishkhan.text.persian import to_persian_digits as to_persian

    if not c:
        return f"بخشنامهٔ {to_persian(NUMBER)}: مرکز آن را نشمرده است — circular {NUMBER}: not counted at the centre"

    fa = lambda n: to_persian(str(n))  # noqa: E731
    return (f"بخشنامهٔ {to_persian(NUMBER)}: {fa(c['in_scope'])} دفتر در دامنه، {fa(c['received'])} دریافت، "
            f"{fa(c['acknowledged'])} تأیید — circular {NUMBER}: {c['in_scope']} office(s) in scope, "
            f"{c['received']} received, {c['acknowledged']} acknowledged")


def main() -> int:
    if CENTRE.exists():
        shutil.rmtree(CENTRE)
    (CENTRE / "broker").mkdir(parents=True)
    POOL.mkdir(parents=True)
    port, device_port, web, enrol = free_port(), free_port(), free_port(), free_port()
    procs: list[subprocess.Popen] = []
    broker = listener = None
    try:
        # The centre, once: its CA, the server certificates of its enrolment server and broker, its keys.
        run("the centre's certificate authority", "central", "ca", "init", "--dir", CA)
        run("the enrolment server's certificate", "central", "ca", "server-cert", "--dir", CA, "--host", "127.0.0.1",
            "--out", CENTRE / "enrol")
        run("the broker's certificate", "central", "ca", "server-cert", "--dir", CA, "--host", "127.0.0.1",
            "--out", CENTRE / "broker" / "broker")
        broker = start_broker(port, device_port)
        keys = CENTRE / "keys"
        run("the centre's command key (enrolment hands its public half to devices)", "central", "keys", "new", "ops",
            "--kind", "command", "--dir", keys)
        fleet_db = CENTRE / "fleet.db"
        run("a dashboard user at the centre", "central", "users", "add", "ops", "--db", fleet_db,
            stdin=PASSWORD + "\n")
        server = f"https://127.0.0.1:{enrol}"
        print(f"\n== the centre's enrolment server on {server} (HTTPS, its certificate from the centre's CA)\n"
              f"$ pishkhan central enroll-server --ca {CA} --listen 127.0.0.1:{enrol} --db {fleet_db} "
              f"--tls-cert {CENTRE / 'enrol.pem'} --tls-key {CENTRE / 'enrol.key'} "
              f"--broker-url mqtts://127.0.0.1:{device_port} --keys {keys} --circulars-pool {POOL}", flush=True)
        procs.append(subprocess.Popen(
            [str(BIN), "central", "enroll-server", "--ca", str(CA), "--listen", f"127.0.0.1:{enrol}", "--db",
             str(fleet_db), "--tls-cert", str(CENTRE / "enrol.pem"), "--tls-key", str(CENTRE / "enrol.key"),
             "--broker-url", f"mqtts://127.0.0.1:{device_port}", "--keys", str(keys), "--circulars-pool", str(POOL)],
            env=ENV, stdout=subprocess.DEVNULL, stderr=open(CENTRE / "enroll-server.log", "w")))
        if not wait_for_port(enrol, procs[-1]):
            sys.exit("demo step failed: the enrolment server did not start (see demo-out/centre/enroll-server.log)")

        # The province's working group makes a claim code for the office and reads it to the technician.
        from pishkhan.config import drop_in_dir, load_config

        office = load_config(CONFIG).office
        code = run("the working group makes a claim code for the office (it is read over the phone)", "central",
                   "claims", "new", "--office", office.office_id, "--province",
                   office.province, "--office-name", office.name, "--licence",
                   office.licence, "--expires", "1d", "--db", fleet_db).strip()
        print(f"   the technician hears: {' - '.join(' '.join(group) for group in code.split('-'))}")

        # The technician enrols the device: its own key, a CSR, the claim, over HTTPS with the centre's CA pinned.
        demo_settings()
        run("the device enrols (its key never leaves it)", "provision", "enroll", "--server", server, "--claim", code,
            "--ca", CA / "ca.pem", config=CONFIG)
        device = enrolled_device()
        print(f"\n-- what enrolment wrote: {drop_in_dir(CONFIG) / 'enrolment.toml'} (the device's id, office and "
              f"broker; {CONFIG.name} untouched) and {load_config(CONFIG).state_dir / 'tls'}/:")
        print((drop_in_dir(CONFIG) / "enrolment.toml").read_text(encoding="utf-8").strip())
        for path in sorted((load_config(CONFIG).state_dir / "tls").iterdir()):
            print(f"   {path.name}  mode {path.stat().st_mode & 0o777:04o}")
        run("the claim is used now", "central", "claims", "list", "--db", fleet_db)
        run("the technician checks the device (on a machine that is no Pi some checks fail: it says what is "
            "missing, each with its fix)", "provision", "check", config=CONFIG, check=False)

        # The centre's trust list (the monitor's and `central publish`'s): the ministry key may sign any scope's
        # documents (as the device trusts it).
        trust = CENTRE / "centre-trust.pem"
        trust.write_text("Scope: any\nLabel: ministry\n" + (OUT / "keys/ministry.pub").read_text(encoding="ascii"),
                         encoding="ascii")
        (CENTRE / "centre.password").write_text(PASSWORD + "\n", encoding="utf-8")
        print(f"\n== the centre's fleet monitor at the centre's listener (password), with its dashboard on "
              f"http://127.0.0.1:{web}/ (official documents: those that verify against {trust})", flush=True)
        procs.append(subprocess.Popen(
            [str(BIN), "central", "monitor", "--broker", f"mqtt://127.0.0.1:{port}",
             "--db", str(fleet_db), "--username", "centre", "--password-file",
             str(CENTRE / "centre.password"), "--trust", str(trust), "--listen", f"127.0.0.1:{web}"],
            env=ENV, stdout=subprocess.DEVNULL, stderr=open(CENTRE / "monitor.log", "w")))
        listener = Listener(port, device)
        print(f"\n== the office's edge agent (pishkhan agent), to mqtts://127.0.0.1:{device_port} with its "
              f"certificate (the broker takes its name, {device}, as the username)", flush=True)
        agent_started = time.time()
        procs.append(subprocess.Popen([str(BIN), "--config", str(CONFIG), "agent"], env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=open(CENTRE / "agent.log", "w")))
        show("birth (retained status)", listener.wait("status", lambda m: m.get("state") == "online"))
        seen = [line.split(": ", 1)[-1] for line in (CENTRE / "broker" / "mosquitto.log").read_text(
            encoding="utf-8", errors="replace").splitlines() if "New client connected" in line and device in line]
        print(f"\n-- the broker's log: {seen[0] if seen else '(no connection of ' + device + ' logged)'}")

        # The centre publishes a newer national board and the province's schedule.
        board = json.loads((OUT / "sample-board.json").read_text(encoding="utf-8"))
        newer = copy.deepcopy(board)
        newer["version"] = board["version"] + 1
        (CENTRE / "board-v2.json").write_text(json.dumps(newer, ensure_ascii=False, indent=1), encoding="utf-8")
        schedule = CENTRE / "schedule.json"
        schedule.write_bytes(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_bytes())
        broker_args = ["--broker", f"mqtt://127.0.0.1:{port}", "--username", "centre", "--password-file",
                       CENTRE / "centre.password"]
        run("the centre publishes board version 2 (national, retained)", "central", "publish", "board",
            CENTRE / "board-v2.json", "--scope", "national", "--key", OUT / "keys/ministry.key", "--trust", trust,
            *broker_args)
        run("the centre publishes the province's working hours", "central", "publish", "schedule", schedule,
            "--scope", "province:23", "--key", OUT / "keys/ministry.key", "--trust", trust, *broker_args)
        reported = listener.wait("reported", lambda m: ((m.get("applied") or {}).get("board") or {}).get("version")
                                 == "2", timeout=60)
        show("reported state (what the office applied)", reported)

        # A stretch of the office's day.
        run("counter 1 opens", "counter", "open", "1", config=CONFIG)
        for service in ("ID-01", "VEH-01", "ID-01"):
            run(f"a customer takes a ticket for {service}", "queue", "issue", "--service", service, config=CONFIG)
        run("the printer fails (its connection is refused)", "queue", "issue", "--service", "ID-01", "--printer",
            "net:127.0.0.1:9", config=CONFIG, check=False)
        run("counter 1 calls the next customer", "queue", "next", "--counter", "1", config=CONFIG)
        run("the paper is back: the next ticket prints", "queue", "issue", "--service", "VEH-01", config=CONFIG)
        show("telemetry", listener.wait("telemetry", lambda m: "office" in (m.get("readings") or {}), timeout=30))

        counts = circular(broker_args, trust, fleet_db, listener)

        # A minute is judged from its start: the first minute the agent saw whole begins after its start's.
        wait = (agent_started // 60 + 1) * 60 + 2 - time.time()
        if wait > 0:
            print(f"\n== waiting {wait:.0f} s for the first whole minute the agent has seen", flush=True)
            time.sleep(wait)

        def judged(m):
            state = ((m.get("readings") or {}).get("compliance") or {}).get("state")
            return state not in (None, "unknown")
        # The agent judges once a minute from its start: its next judgement is at most a minute away.
        latest = listener.wait("telemetry", judged, timeout=75) or listener.wait(
            "telemetry", lambda m: "compliance" in (m.get("readings") or {}), timeout=1)
        show("the compliance state now (in telemetry)", ((latest or {}).get("readings") or {}).get("compliance"))
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3.5 * 3600))
        run("the centre asks for the day's report (a signed command)", "central", "command", device,
            "resend_report", f"date={today}", "--key", "ops", "--keys-dir", keys, *broker_args)
        show("the day's report so far", listener.wait("report", timeout=30))
        events = [m for s, m in listener.messages if s == "event"]
        print(f"\n-- events received: {[e.get('event') for e in events] or 'none yet'}")
        time.sleep(3)  # the monitor's last batch

        print("\n== the dashboard, in headless Chromium (screenshots in demo-out/dashboard/)", flush=True)
        # The code on the wall's QR now: the board the centre published and the office applied.
        code = (((reported or {}).get("applied") or {}).get("board") or {}).get("verification_code")
        office = dashboard_screenshots(f"http://127.0.0.1:{web}", device, code)
        print(f"\n-- the monitor's JSON for this office (/api/device/{device}):")
        print(json.dumps(office, ensure_ascii=False, indent=2)[:6000])
        run("the centre's daily report by province", "central", "report", "--format", "csv", "--db",
            CENTRE / "fleet.db")
        print(f"\n{counts_line(counts)}")
        if not (counts and counts["received"] and counts["acknowledged"]):
            sys.exit("demo step failed: the centre did not count the circular received and acknowledged")
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
        if broker is not None:
            broker.terminate()
            broker.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
