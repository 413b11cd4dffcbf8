"""The counter panel: one call button and one LED per counter, a status LED and a buzzer.

- A short press of a counter's button calls the next ticket there
  (:meth:`~pishkhan.queue.core.Queue.call_next`); a press held
  ``hardware.hold_seconds`` recalls the called ticket.
- A counter's LED is lit while it has a ticket called or being served; it
  blinks three times when a press could not be carried out (counter closed,
  nothing to recall).
- The buzzer sounds when the printer runs out of paper (the ``printer`` state
  the kiosk records), and again every :attr:`Panel.buzz_every` seconds until
  paper is back.
- The status LED is lit while the panel runs and blinks while the printer
  needs attention.

Pins come from the configuration (BCM numbers) and are made by gpiozero's
pin factory, so tests use ``MockFactory``. Button callbacks arrive on
gpiozero's own threads: every action goes through one lock, and the store
serialises its connection, so presses on two counters at once are safe.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from pishkhan.exc import PishkhanError

log = logging.getLogger(__name__)

#: Printer states that need someone to act (buzzer and blinking status LED).
ATTENTION = ("paper_out", "cover_open", "offline")
#: How long a counter LED blinks when a press could not be carried out.
COMPLAINT_SECONDS = 0.6


class CounterControls:
    """The button and LED of one counter. ``on_press``/``on_hold`` are set by the panel."""

    def __init__(self, number: int, *, button_pin, led_pin, hold_seconds: float, pin_factory=None):
        from gpiozero import LED, Button

        self.number = number
        self.on_press = None
        self.on_hold = None
        self._held = False
        self.quiet_until = 0.0  # the LED blinks a complaint until then
        self.button = Button(button_pin, pull_up=True, hold_time=hold_seconds, pin_factory=pin_factory) \
            if button_pin is not None else None
        self.led = LED(led_pin, pin_factory=pin_factory) if led_pin is not None else None
        if self.button is not None:
            self.button.when_held = self._when_held
            self.button.when_released = self._when_released

    def _when_held(self):
        self._held = True
        if self.on_hold:
            self.on_hold(self.number)

    def _when_released(self):
        if self._held:  # the hold already acted
            self._held = False
            return
        if self.on_press:
            self.on_press(self.number)

    def close(self):
        for device in (self.button, self.led):
            if device is not None:
                device.close()


class Panel:
    """Buttons, LEDs and buzzer driving *queue*.

    :param queue: the :class:`~pishkhan.queue.core.Queue` (its store is shared by the
        button threads; the store's lock and the panel's lock serialise them).
    :param config: pins (``counters[].button_pin``/``led_pin``, ``hardware.*``).
    :param pin_factory: a gpiozero pin factory; default gpiozero's choice.
    """

    buzz_every = 60.0

    def __init__(self, queue, config, *, pin_factory=None):
        from gpiozero import LED, Buzzer

        self.queue = queue
        self.store = queue.store
        self._lock = threading.RLock()
        self._closed = False
        self._printer_state = None
        self._last_buzz = 0.0
        hold = float(config.hardware.hold_seconds)
        self.counters: dict[int, CounterControls] = {}
        try:
            for counter in config.counters:
                controls = CounterControls(counter.number, button_pin=counter.button_pin, led_pin=counter.led_pin,
                                           hold_seconds=hold, pin_factory=pin_factory)
                controls.on_press = self.call_next
                controls.on_hold = self.recall
                self.counters[counter.number] = controls
            buzzer_pin = config.hardware.buzzer_pin
            status_pin = config.hardware.status_led_pin
            self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory) if buzzer_pin is not None else None
            self.status_led = LED(status_pin, pin_factory=pin_factory) if status_pin is not None else None
        except Exception:
            self.close()
            raise
        if self.status_led is not None:
            self.status_led.on()
        self.refresh()

    # -- actions (called from button threads) --------------------------------
    def _act(self, counter: int, what: str, action):
        with self._lock:
            if self._closed:
                return None
            try:
                ticket = action(counter)
            except PishkhanError as e:
                log.warning("counter %s %s: %s", counter, what, e)
                self._complain(counter)
                ticket = None
            else:
                log.info("counter %s %s: %s", counter, what, ticket.label if ticket else "nobody waiting")
            self._refresh_or_log()
            return ticket

    def call_next(self, counter: int):
        """What a short press does: call the next ticket to *counter*."""
        return self._act(counter, "next", self.queue.call_next)

    def recall(self, counter: int):
        """What a long press does: recall the counter's ticket (no-show after K recalls)."""
        return self._act(counter, "recall", self.queue.recall)

    def _complain(self, counter: int):
        controls = self.counters.get(counter)
        if controls and controls.led is not None:
            controls.quiet_until = time.monotonic() + COMPLAINT_SECONDS
            controls.led.blink(on_time=COMPLAINT_SECONDS / 6, off_time=COMPLAINT_SECONDS / 6, n=3, background=True)

    # -- outputs ------------------------------------------------------------------
    def refresh(self):
        """Set every LED and the buzzer from the store (other processes may have changed it)."""
        with self._lock:
            if self._closed:
                return
            for number, controls in self.counters.items():
                if controls.led is None or time.monotonic() < controls.quiet_until:
                    continue  # still blinking a complaint
                busy = self.queue.current_ticket(number) is not None
                if busy != controls.led.is_lit:
                    controls.led.value = busy
            last = self.store.last_state("printer")
            state = last["state"] if last else "unknown"
            attention = state in ATTENTION
            changed = state != self._printer_state
            self._printer_state = state
            if self.status_led is not None and changed:
                if attention:
                    self.status_led.blink(on_time=0.5, off_time=0.5, background=True)
                else:
                    self.status_led.on()
            now = time.monotonic()
            if self.buzzer is not None and state == "paper_out" and (changed or now - self._last_buzz >= self.buzz_every):
                self._last_buzz = now
                self.buzzer.beep(on_time=0.3, off_time=0.3, n=3, background=True)

    def led_lit(self, counter: int) -> bool:
        controls = self.counters[counter]
        return bool(controls.led is not None and controls.led.is_lit)

    def run(self, stop: threading.Event, *, poll: float = 0.5):
        """Keep the outputs up to date until *stop* is set."""
        while not stop.wait(poll):
            self._refresh_or_log()

    def _refresh_or_log(self):
        try:
            self.refresh()
        except PishkhanError as e:  # the LEDs keep their state until the store reads again
            log.warning("panel refresh failed: %s", e)

    def close(self):
        with self._lock:
            self._closed = True
            for controls in getattr(self, "counters", {}).values():
                controls.close()
            for device in (getattr(self, "buzzer", None), getattr(self, "status_led", None)):
                if device is not None:
                    device.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def pin_factory_named(name: str | None):
    """A gpiozero pin factory by name: ``""``/None for gpiozero's default, ``"mock"``,
    or ``"lgpio"``, ``"rpigpio"``, ``"pigpio"``, ``"native"``."""
    if not name:
        return None
    if name == "mock":
        from gpiozero.pins.mock import MockFactory
        return MockFactory()
    import importlib.metadata as md

    for entry in md.entry_points(group="gpiozero_pin_factories"):
        if entry.name == name:
            return entry.load()()
    raise PishkhanError(f"unknown gpiozero pin factory {name!r}; expected mock, lgpio, rpigpio, pigpio or native")


def run_panel(config, *, pin_factory: str | None = None) -> int:
    """Run the panel until SIGTERM or Ctrl-C (the ``pishkhan panel`` command)."""
    from pishkhan.queue.core import Queue
    from pishkhan.runtime.memory import tune_heap
    from pishkhan.store.database import open_store

    tune_heap()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    factory = pin_factory_named(pin_factory if pin_factory is not None else config.hardware.pin_factory)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from gpiozero.exc import GPIOZeroError

    with open_store(config) as store:
        try:
            panel = Panel(Queue(store, config), config, pin_factory=factory)
        except GPIOZeroError as e:
            raise PishkhanError(f"cannot use the GPIO pins: {e} ({type(e).__name__}); on a Pi install lgpio, "
                                "elsewhere run with --pin-factory mock (hardware.pin_factory)") from None
        with panel:
            log.info("panel running: counters %s", sorted(panel.counters))
            try:
                panel.run(stop)
            except KeyboardInterrupt:
                pass
    return 0
