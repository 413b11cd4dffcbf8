"""The kiosk: screens, navigation, idle timeout, store watch and staff entry.

:class:`Kiosk` is the root widget and holds the whole behaviour, so tests
and the scripted demo can build one inside an existing window.
:class:`KioskApp` is the Kivy App that runs it fullscreen; :func:`run`
starts it (``pishkhan kiosk``).
"""

from __future__ import annotations

from pishkhan.runtime.kivy_env import require_prepared

require_prepared(__name__)  # before Kivy is imported: only the pil provider shapes Persian

import logging
import threading
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from pishkhan.exc import OfficeClosed, PishkhanError, QueueError, StoreError
from pishkhan.runtime.memory import tune_heap

from .model import KioskModel
from .screens.attract import AttractScreen
from .screens.browse import BrowseScreen
from .screens.closed import ClosedScreen, OutOfServiceScreen
from .screens.detail import DetailScreen
from .screens.rating import RatingScreen
from .screens.library import (AckNameScreen, CircularPageScreen, CircularScreen, InspectorBoardsScreen,
                              InspectorCircularScreen, InspectorComplianceScreen, InspectorLibraryScreen,
                              InspectorMenuScreen, InspectorPageScreen, LibraryScreen)
from .screens.search import SearchScreen
from .screens.staff import (PinScreen, StaffCountersScreen, StaffInfoScreen, StaffMenuScreen,
                            StaffNoticesScreen, StaffQueueScreen, StaffServicesScreen, StaffTextScreen,
                            StaffUsbScreen)
from .screens.ticket import TicketScreen
from .staff import StaffActions

log = logging.getLogger(__name__)

SCREENS = {
    "attract": AttractScreen, "browse": BrowseScreen, "detail": DetailScreen, "search": SearchScreen,
    "ticket": TicketScreen, "closed": ClosedScreen, "out": OutOfServiceScreen, "pin": PinScreen,
    "staff": StaffMenuScreen, "staff_counters": StaffCountersScreen, "staff_services": StaffServicesScreen,
    "staff_text": StaffTextScreen, "staff_notices": StaffNoticesScreen, "staff_queue": StaffQueueScreen,
    "staff_usb": StaffUsbScreen, "staff_info": StaffInfoScreen,
    "rate": RatingScreen,
    "staff_library": LibraryScreen, "staff_circular": CircularScreen, "staff_circular_page": CircularPageScreen,
    "staff_ack_name": AckNameScreen,
    "inspector": InspectorMenuScreen, "inspector_library": InspectorLibraryScreen,
    "inspector_circular": InspectorCircularScreen, "inspector_circular_page": InspectorPageScreen,
    "inspector_boards": InspectorBoardsScreen, "inspector_compliance": InspectorComplianceScreen,
}
STAFF_SCREENS = {name for name in SCREENS if name.startswith("staff")}
#: The inspector's read-only screens (reachable from the PIN pad without a PIN).
INSPECTOR_SCREENS = {name for name in SCREENS if name.startswith("inspector")}
#: Screens refreshed when another process changes the store.
LIVE_SCREENS = {"attract", "browse", "detail", "search"}
TEXT_SCALES = (1.0, 1.25, 1.5)
#: A printed ticket's screen goes home after this many seconds.
TICKET_SECONDS = 15
#: Hidden staff gesture: a press held this long in the top-left corner.
LONG_PRESS_SECONDS = 3.0
CORNER_PX = 110
#: Seconds between two checks of whether tickets can be issued (for the state log).
STATUS_EVERY = 15


class Kiosk(FloatLayout):
    """The kiosk's root widget.

    :param model: the :class:`~kiosk.model.KioskModel`.
    :param config: the configuration.
    :param monotonic: the clock for timeouts (tests pass their own).
    :param threaded_print: print in a worker thread so the number shows at once.
    """

    def __init__(self, model: KioskModel, *, config, monotonic=time.monotonic, threaded_print=True, **kw):
        super().__init__(**kw)
        self.model = model
        self.config = config
        self.monotonic = monotonic
        self.threaded_print = threaded_print
        self.reset_customer()
        self.staff_mode = False
        self.inspector_mode = False
        self.staff_actions = StaffActions(model)
        self.long_press_seconds = LONG_PRESS_SECONDS
        self.history: list[tuple[str, dict]] = []
        self.last_touch = monotonic()
        self.shown_at = monotonic()
        self._corner = None
        self._ticks = 0
        self.sm = ScreenManager(transition=NoTransition())
        for name, cls in SCREENS.items():
            self.sm.add_widget(cls(self, name=name))
        self.add_widget(self.sm)
        self._tick = Clock.schedule_interval(self.tick, 1.0)
        self.show("out" if model.out_of_service else "attract", push=False)

    # -- navigation -------------------------------------------------------------
    @property
    def current(self) -> str:
        return self.sm.current

    @property
    def screen(self):
        return self.sm.current_screen

    def show(self, name: str, *, push: bool = True, **params):
        """Open screen *name* with *params*; *push* lets back return here."""
        if push and self.sm.current and self.sm.current != name:
            self.history.append((self.sm.current, dict(self.screen.params)))
        screen = self.sm.get_screen(name)
        screen.params = dict(params)
        self.shown_at = self.monotonic()
        if self.sm.current != name:
            self.sm.current = name
        screen.refresh()

    def update(self, **params):
        """Change the current screen's params and redraw it."""
        self.screen.params.update(params)
        self.screen.refresh()

    def back(self, **extra):
        if not self.history:
            if self.inspector_mode and self.current == "inspector":
                self.leave_inspector()  # back from the inspector's menu: out, never round in a circle
            else:
                self.home()
            return
        name, params = self.history.pop()
        params.update(extra)
        self.show(name, push=False, **params)

    def home(self):
        self.history.clear()
        if self.staff_mode:
            self.show("staff", push=False)
        elif self.inspector_mode:
            self.show("inspector", push=False)
        elif self.model.out_of_service:
            self.show("out", push=False)
        else:
            self.show("attract", push=False)

    def reset_customer(self):
        """Back to the office's language and text size, for the next customer."""
        self.lang = self.config.kiosk.language if self.config.kiosk.language in ("fa", "en") else "fa"
        self.scale = float(self.config.kiosk.text_scale)

    def finish(self):
        """The customer is done (ticket taken, or gone): start afresh."""
        self.reset_customer()
        self.home()

    def start(self):
        """A customer touched the attract screen: the services, or first why no ticket can be had."""
        if self.model.out_of_service:
            self.show("out", push=False)
            return
        ok, reason, _ = self.model.status()
        if ok:
            self.show("browse", push=False)
        else:
            self.show("closed", push=False, reason=reason)
        self.history = [("attract", {})]

    def rate(self):
        """A customer asked to rate the service: the ticket-number keypad, back to the attract screen."""
        self.show("rate", push=False, step="number")
        self.history = [("attract", {})]

    def retry(self):
        self.model.reload()
        self.home()

    def toggle_language(self):
        self.lang = "en" if self.lang == "fa" else "fa"
        self.screen.refresh()

    def cycle_text_size(self):
        nearest = min(range(len(TEXT_SCALES)), key=lambda i: abs(TEXT_SCALES[i] - self.scale))
        self.scale = TEXT_SCALES[(nearest + 1) % len(TEXT_SCALES)]
        self.screen.refresh()

    # -- tickets ----------------------------------------------------------------
    def take_ticket(self, code: str, *, priority: bool = False):
        """Issue a ticket, show its number at once, print it."""
        try:
            ticket = self.model.issue(code, priority=priority)
        except OfficeClosed as e:
            self.model.status()  # records not_accepting with the reason
            self.show("closed", reason=e.reason)
            return
        except QueueError as e:
            log.warning("ticket refused: %s", e)
            self.show("closed", reason="unavailable")
            return
        except StoreError as e:
            log.exception("the store failed while issuing")
            self.model.problem = f"store: {e}"
            self.model.record("out_of_service", "store")
            self.show("out", push=False)
            return
        self.history.clear()
        self.show("ticket", push=False, ticket=ticket, print_state="printing")
        if self.threaded_print:
            threading.Thread(target=self._print, args=(ticket,), name="kiosk-print", daemon=True).start()
        else:
            self._print(ticket)

    def _print(self, ticket):
        printed, state, error = self.model.print_ticket(ticket)
        Clock.schedule_once(lambda dt: self._printed(ticket, printed, state, error))

    def _printed(self, ticket, printed, state, error):
        if self.current == "ticket" and self.screen.params.get("ticket") is ticket:
            self.shown_at = self.monotonic()
            self.update(print_state="printed" if printed else "failed", printer_state=state, error=error)

    # -- staff ------------------------------------------------------------------
    def open_pin_pad(self):
        self.inspector_mode = False
        self.history.clear()
        self.show("pin", push=False)

    def enter_staff(self):
        self.staff_mode = True
        self.history.clear()
        self.show("staff", push=False)

    def enter_inspector(self):
        """The inspector's read-only view, from the PIN pad: no PIN, and none of staff mode's powers."""
        self.inspector_mode = True
        self.history.clear()
        self.show("inspector", push=False)

    def leave_inspector(self):
        self.inspector_mode = False
        self.home()

    def leave_staff(self, reason: str = "exit"):
        if self.staff_mode and self.model.store is not None:
            try:
                self.model.store.audit("staff", "staff.leave", "kiosk", reason=reason)
            except PishkhanError:
                log.exception("cannot audit leaving staff mode")
        self.staff_mode = False
        self.model.reload()
        self.home()

    # -- touches ----------------------------------------------------------------
    def _in_corner(self, touch) -> bool:
        return touch.x <= self.x + CORNER_PX and touch.y >= self.top - CORNER_PX

    def on_touch_down(self, touch):
        self.last_touch = self.monotonic()
        if self._in_corner(touch) and self.current not in ("pin",) and not self.staff_mode:
            self._cancel_corner()
            event = Clock.schedule_once(lambda dt: self._long_press(touch), self.long_press_seconds)
            self._corner = (touch, event)
        return super().on_touch_down(touch)

    def on_touch_move(self, touch):
        self.last_touch = self.monotonic()
        if self._corner and self._corner[0] is touch and not self._in_corner(touch):
            self._cancel_corner()
        return super().on_touch_move(touch)

    def on_touch_up(self, touch):
        self.last_touch = self.monotonic()
        if self._corner and self._corner[0] is touch:
            self._cancel_corner()
        return super().on_touch_up(touch)

    def _cancel_corner(self):
        if self._corner:
            self._corner[1].cancel()
            self._corner = None

    def _long_press(self, touch):
        self._corner = None
        for ref in list(touch.grab_list):  # the pressed button must not fire on release
            widget = ref()
            if widget is not None:
                touch.ungrab(widget)
                if hasattr(widget, "state"):
                    widget.state = "normal"
        self.open_pin_pad()

    # -- clock ------------------------------------------------------------------
    def tick(self, *_):
        """Once a second: idle timeouts and changes made by other processes."""
        now = self.monotonic()
        idle = now - self.last_touch
        name = self.current
        if self.staff_mode or name == "pin":
            if idle > float(self.config.kiosk.staff_timeout):
                self.leave_staff("timeout")
                return
        elif self.inspector_mode:
            if idle > float(self.config.kiosk.staff_timeout):
                self.leave_inspector()
                return
        elif name not in ("attract", "out"):
            printed = (name == "ticket" and self.screen.params.get("print_state") == "printed") or (
                name == "rate" and self.screen.params.get("step") == "done")  # a rating thanked: done too
            if idle > float(self.config.kiosk.idle_timeout) or (
                    printed and now - self.shown_at > TICKET_SECONDS and idle > TICKET_SECONDS):
                self.finish()
                return
        self.watch_store()
        self._ticks += 1
        if self._ticks % STATUS_EVERY == 0:
            self.model.status()  # records accepting / not accepting as hours and counters change

    def watch_store(self):
        store = self.model.store
        try:
            changed = store is not None and store.changed()
        except StoreError:
            changed = True
        if not changed and not (self.current == "out" and not self.staff_mode):
            return
        was_out = self.model.out_of_service
        self.model.reload()
        if self.staff_mode:
            return
        if self.model.out_of_service and self.current in LIVE_SCREENS | {"attract"}:
            self.show("out", push=False)
        elif was_out and not self.model.out_of_service and self.current == "out":
            self.home()
        elif changed and self.current in LIVE_SCREENS:
            self.screen.refresh()

    def close(self):
        """Stop the clocks (tests build several kiosks in one window)."""
        self._tick.cancel()
        self._cancel_corner()
        for screen in self.sm.screens:
            if hasattr(screen, "on_leave"):
                screen.on_leave()


def open_model(config, *, printer=None) -> KioskModel:
    """The model on the configured store; a store that cannot open gives out-of-service."""
    from pishkhan.store.database import open_store

    try:
        store = open_store(config)
    except StoreError as e:
        log.error("the store cannot be opened: %s", e)
        return KioskModel(None, config=config, printer=printer, store_error=f"store: {e}")
    return KioskModel(store, config=config, printer=printer)


class KioskApp(App):
    """The Kivy app: one :class:`Kiosk` filling the window."""

    title = "Pishkhan kiosk"

    def __init__(self, *, config, printer=None, **kw):
        super().__init__(**kw)
        self.pishkhan_config = config
        self.printer = printer
        self.kiosk = None

    def build(self):
        from pishkhan.hardware.printer import open_printer

        cfg = self.pishkhan_config
        printer = self.printer if self.printer is not None else open_printer(cfg.printer.uri)
        self.kiosk = Kiosk(open_model(cfg, printer=printer), config=cfg)
        return self.kiosk

    def on_stop(self):
        if self.kiosk is not None:
            self.kiosk.close()
            if self.kiosk.model.store is not None:
                self.kiosk.model.store.close()


def run(config) -> None:
    """Start the kiosk (blocks until the window closes); call :func:`pishkhan.runtime.kivy_env.prepare_kivy` first."""
    tune_heap()
    KioskApp(config=config).run()
