"""Staff mode screens: the PIN pad, the menu and one screen per action.

Every action goes through :class:`kiosk.staff.StaffActions`, which audits
it. A result or refusal is shown in the message line at the top.
"""

from __future__ import annotations

import logging

from pishkhan.exc import PishkhanError
from pishkhan.staff_pin import KEYPAD_DIGITS

from .. import usb_import
from ..keyboard import PersianKeyboard
from ..pin import PinGuard
from ..widgets import DANGER, MIN_TARGET, SPACING, WARN, Btn, Column, page_slice, pages, paint
from .base import KioskScreen
from .browse import category_title, service_title

log = logging.getLogger(__name__)


class PinScreen(KioskScreen):
    """Params: ``message``. The entered digits are kept on the screen object only.

    Opened while staff mode is locked, it says so at once; with the default
    PIN still in force it carries a visible note that it must be changed.
    """

    title_key = "staff_pin"

    def __init__(self, kiosk, **kw):
        super().__init__(kiosk, **kw)
        self.entered = ""

    def on_pre_enter(self, *_):
        self.entered = ""
        if self.params.get("message") or self.model.store is None:
            return
        try:
            left = self.guard().locked_for()
        except Exception:  # the pad still opens; submit() reports a failing store
            log.exception("cannot read the PIN lock-out")
            return
        if left > 0:
            self.params["message"] = self.t("pin_locked", minutes=max(1, round(left / 60)))

    def guard(self) -> PinGuard:
        return PinGuard(self.model.store, config=self.kiosk.config)

    def press(self, key: str):
        if key == "C":
            self.entered = ""
        elif key == "OK":
            self.submit()
            return
        elif len(self.entered) < KEYPAD_DIGITS:
            self.entered += key
        self.refresh()

    def submit(self):
        pin, self.entered = self.entered, ""
        if self.model.store is None:
            self.params["message"] = self.t("failed", reason=self.model.problem or "store")
            self.refresh()
            return
        try:
            attempt = self.guard().attempt(pin)
        except PishkhanError as e:
            log.exception("cannot check the PIN")
            self.params["message"] = self.t("failed", reason=str(e))
            self.refresh()
            return
        if attempt.result == "ok":
            self.kiosk.enter_staff()
            return
        if attempt.result == "locked":
            minutes = max(1, round(attempt.locked_seconds / 60))
            self.params["message"] = self.t("pin_locked", minutes=minutes)
        else:
            self.params["message"] = self.t("pin_wrong", n=attempt.tries_left)
        self.refresh()

    def pin_note(self) -> str:
        """A note about the PIN itself: the default in force, or a damaged setting ("" when none)."""
        if self.model.store is None:
            return ""
        try:
            guard = self.guard()
            if guard.default_in_use:
                return self.t("pin_default_note")
            if guard.hash_problem:
                return self.t("pin_damaged")
        except Exception:  # only a note: a failing store must not take the PIN pad with it
            log.exception("cannot read the PIN setting")
        return ""

    def body(self):
        dots = self.text(" ".join("•" * len(self.entered)) or " ", 2.2, align="center", name="pin-dots",
                         size_hint_y=None, height=self.fs(2.2) * 1.6)
        text = self.params.get("message", "")
        note = "" if text else self.pin_note()  # a result first; the note is back the next time the pad opens
        message = self.text(text or note, 0.8 if note else 1.0, align="center", color=WARN, bold=bool(note),
                            name="pin-note" if note else "message", size_hint_y=None,
                            height=self.fs() * (2.6 if note else 2), max_lines=2 if note else 0, shorten=bool(note))
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "OK"]
        rows = []
        for i in range(0, 12, 3):
            row = []
            for k in keys[i:i + 3]:
                label = {"C": self.t("delete"), "OK": self.t("ok")}.get(k, self.num(k))
                row.append(Btn(label, kind={"C": "danger", "OK": "ok"}.get(k, "normal"), size=self.fs(1.3),
                               name=f"pin:{k}", on_press=lambda k=k: self.press(k)))
            rows.append(self.row(row, size_hint_y=None, height=MIN_TARGET))
        pad = Column(rows, size_hint=(None, None), width=3 * 170 + 2 * SPACING,
                     height=4 * MIN_TARGET + 3 * SPACING, pos_hint={"center_x": 0.5})
        # the inspector's read-only view, beside the pad (below it there is no room in landscape)
        inspector = self.button(self.t("inspector"), self.kiosk.enter_inspector, name="inspector", step=0.9,
                                size_hint=(None, None), width=200, height=MIN_TARGET)
        side = Column([Column(), inspector], size_hint=(None, None), width=200, height=pad.height)
        return Column([message, dots, self.row([Column(), pad, side], size_hint_y=None, height=pad.height),
                       Column()])


class StaffScreen(KioskScreen):
    """A staff screen: a message line, then rows (paged), built by :meth:`rows`."""

    #: Rows holding buttons are touch targets; text-only screens may use less.
    row_height = MIN_TARGET

    def message_line(self):
        """The last action's result or refusal, on up to three lines."""
        return self.text(self.params.get("message", ""), 0.85, color=WARN, name="message",
                         size_hint_y=None, height=self.fs() * 3.3, max_lines=3)

    def rows(self) -> list:
        return []

    def act(self, fn, ok_text=None, **update):
        """Run a staff action, then show its result (or the refusal) in the message line."""
        try:
            result = fn()
        except PishkhanError as e:
            message = self.t("failed", reason=str(e))
        else:
            message = ok_text(result) if callable(ok_text) else (ok_text or self.t("done_ok"))
        self.kiosk.update(message=message, **update)

    def body(self):
        rows = self.rows()
        line = self.message_line()
        avail = int(self.body_height() - line.height - SPACING)
        row_h = self.row_height
        per_page = max(1, (avail + SPACING) // (row_h + SPACING))
        if len(rows) > per_page:
            per_page = max(1, (avail - MIN_TARGET) // (row_h + SPACING))
        total = pages(rows, per_page)
        page = min(self.params.get("page", 0), total - 1)
        col = Column([line])
        for r in page_slice(rows, page, per_page):
            r.size_hint_y, r.height = None, row_h
            col.add_widget(r)
        col.add_widget(Column())
        if total > 1:
            col.add_widget(self.row([
                self.button(self.t("prev_page"), lambda: self.kiosk.update(page=page - 1), name="page-prev",
                            disabled=page <= 0),
                self.text(self.t("page_of", n=page + 1, total=total), 0.8, align="center"),
                self.button(self.t("next_page"), lambda: self.kiosk.update(page=page + 1), name="page-next",
                            disabled=page >= total - 1)], size_hint_y=None, height=MIN_TARGET))
        return col

    @property
    def staff(self):
        return self.kiosk.staff_actions


class StaffMenuScreen(StaffScreen):
    """The staff menu; while the default PIN is in force its message line warns of it, in red."""

    title_key = "staff_title"

    def message_line(self):
        try:
            default = PinGuard(self.model.store, config=self.kiosk.config).default_in_use
        except Exception:  # only a warning: a failing store must not take the menu with it
            log.exception("cannot read the PIN setting")
            default = False
        if not default:
            return super().message_line()
        message = self.params.get("message", "")
        text = f"{message}\n{self.t('pin_default_short')}" if message else self.t("pin_default_warning")
        # three lines of it in portrait, where the room is; two in landscape
        line = self.text(text, 0.85, bold=True, name="message", size_hint_y=None, max_lines=3,
                         height=self.fs() * 3.3 if self.landscape else self.fs(0.85) * 4.9)
        line.warns_default_pin = True
        return paint(line, DANGER)

    def rows(self):
        k = self.kiosk
        items = [("staff_counters", lambda: k.show("staff_counters")),
                 ("staff_services", lambda: k.show("staff_services")),
                 ("staff_notices", lambda: k.show("staff_notices")),
                 ("staff_queue", lambda: k.show("staff_queue")),
                 ("staff_reprint", self.reprint),
                 ("staff_usb", lambda: k.show("staff_usb")),
                 ("staff_info", lambda: k.show("staff_info")),
                 ("staff_library", lambda: k.show("staff_library")),
                 ("inspector_title", lambda: k.show("inspector")),
                 ("staff_exit", k.leave_staff)]
        buttons = [self.button(self.t(key), fn, name=key, kind="danger" if key == "staff_exit" else "normal")
                   for key, fn in items]
        return [self.row(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]

    def reprint(self):
        def done(result):
            if result is None:
                return self.t("no_last_ticket")
            return self.t("reprinted", label=result.ticket.display_label if self.rtl else result.ticket.label)
        self.act(self.staff.reprint_last, done)


class StaffCountersScreen(StaffScreen):
    title_key = "staff_counters"

    def rows(self):
        out = []
        for number, is_open in self.staff.counters():
            state = self.t("is_open") if is_open else self.t("is_closed")
            out.append(self.row([
                self.text(f"{self.t('counter_n', n=number)}: {state}", 1.1, bold=True, name=f"counter-state:{number}"),
                self.button(self.t("close") if is_open else self.t("open"),
                            lambda n=number, o=is_open: self.act(lambda: self.staff.set_counter(n, not o)),
                            kind="danger" if is_open else "ok", name=f"counter:{number}", size_hint_x=0.35)]))
        return out


class StaffServicesScreen(StaffScreen):
    title_key = "staff_services"

    def rows(self):
        out = []
        board = self.model.board
        if board is None:
            return out
        for s in board.services():
            label = service_title(s, self.lang)
            if s.unavailable:
                label += "  —  " + self.t("unavailable", reason=s.unavailable)
                button = self.button(self.t("mark_available"),
                                     lambda c=s.code: self.act(lambda: self.staff.set_unavailable(c, None)),
                                     kind="ok", name=f"available:{s.code}", size_hint_x=0.3, step=0.85)
            else:
                button = self.button(self.t("mark_unavailable"),
                                     lambda c=s.code: self.kiosk.show("staff_text", purpose="reason", code=c),
                                     kind="danger", name=f"unavailable:{s.code}", size_hint_x=0.3, step=0.85)
            out.append(self.row([self.text(label, 0.9, shorten=True), button]))
        return out


class StaffTextScreen(StaffScreen):
    """Persian text entry for a notice or a reason. Params: ``purpose``, ``code``, ``text``."""

    def title(self):
        return self.t("reason_title") if self.params.get("purpose") == "reason" else self.t("new_notice")

    def set_text(self, text):
        self.params["text"] = text
        self.entry.text = text or " "

    def submit(self, text=None):
        text = text if text is not None else self.params.get("text", "")
        if not text.strip():
            return
        if self.params.get("purpose") == "reason":
            code = self.params["code"]
            try:
                self.staff.set_unavailable(code, text)
            except PishkhanError as e:
                self.kiosk.update(message=self.t("failed", reason=str(e)))
                return
            self.kiosk.back(message=self.t("done_ok"))
        else:
            try:
                self.staff.post_notice(text)
            except PishkhanError as e:
                self.kiosk.update(message=self.t("failed", reason=str(e)))
                return
            self.kiosk.back(message=self.t("done_ok"))

    def body(self):
        text = self.params.get("text", "")
        keyboard = PersianKeyboard(on_change=self.set_text, lang=self.lang, text=text, font=self.fs(0.9),
                                   columns=12 if self.landscape else 7)
        self.entry = self.text(text or " ", 1.1, bold=True, name="entry", size_hint_y=None, height=self.fs() * 2.4)
        widgets = [self.message_line(), self.entry]
        if self.params.get("purpose") == "reason":
            if not self.params.get("message"):  # which service, whole (the header would cut it)
                s = self.model.service(self.params.get("code", ""))
                widgets[0].text = self.t("reason_prompt", service=service_title(s, self.lang) if s else "")
            presets = self.t("reason_presets").split("|")
            widgets.append(self.row([self.button(p, lambda p=p: self.submit(p), name=f"preset:{i}", step=0.8)
                                     for i, p in enumerate(presets)], size_hint_y=None, height=MIN_TARGET))
        widgets.append(self.row([self.button(self.t("post") if self.params.get("purpose") != "reason" else self.t("ok"),
                                             lambda: self.submit(), kind="ok", name="submit"),
                                 self.button(self.t("cancel"), self.kiosk.back, kind="danger", name="cancel")],
                                size_hint_y=None, height=MIN_TARGET))
        widgets.append(Column())
        widgets.append(keyboard)
        return Column(widgets)


class StaffNoticesScreen(StaffScreen):
    title_key = "staff_notices"

    def rows(self):
        out = [self.row([self.button(self.t("new_notice"), lambda: self.kiosk.show("staff_text", purpose="notice"),
                                     kind="ok", name="new-notice")])]
        from pishkhan.boards.notices import active_notices

        notices = active_notices(self.model.store)
        if not notices:
            out.append(self.row([self.text(self.t("no_notices"))]))
        for n in notices:
            out.append(self.row([self.text(n.text, 0.9, shorten=True, name=f"notice:{n.id}"),
                                 self.button(self.t("remove"), lambda i=n.id: self.act(
                                     lambda: self.staff.remove_notice(i)), kind="danger",
                                     name=f"remove-notice:{n.id}", size_hint_x=0.25)]))
        return out


class StaffQueueScreen(StaffScreen):
    title_key = "staff_queue"

    def end_of_day(self):
        if not self.params.get("confirm_end"):
            self.kiosk.update(confirm_end=True, message=self.t("confirm_end_of_day"))
            return
        self.act(self.staff.end_of_day, lambda n: self.t("done_ok") + f" ({self.num(n)})", confirm_end=False)

    def rows(self):
        k = self.kiosk
        out = []
        recalls = [self.button(f"{self.t('recall')} {self.num(c.number)}",
                               lambda n=c.number: self.act(lambda: self.staff.recall(n)), name=f"recall:{c.number}",
                               step=0.85) for c in k.config.counters]
        out.append(self.row(recalls))
        confirming = self.params.get("confirm_end")
        out.append(self.row([self.button(self.t("end_of_day_confirm" if confirming else "end_of_day"), self.end_of_day,
                                         kind="danger", name="end-of-day")]))
        tickets = self.staff.waiting_tickets()
        out.append(self.row([self.text(self.t("waiting_tickets", n=len(tickets)), bold=True)]))
        lanes = k.config.lanes
        for tk in tickets:
            label = tk.display_label if self.rtl else tk.label
            # number and service apart: a line starting with the Latin letter would be laid out left to right
            widgets = [self.text(label, 0.85, bold=True, size_hint_x=None, width=self.fs(0.85) * 3.6),
                       self.text(tk.service_title, 0.85, shorten=True, name=f"ticket:{tk.id}")]
            for lane in lanes:
                if lane.code != tk.lane:
                    widgets.append(self.button(self.t("transfer_to", lane=lane.code),
                                               lambda i=tk.id, l=lane.code: self.act(lambda: self.staff.transfer(i, l)),
                                               name=f"transfer:{tk.id}:{lane.code}", step=0.75, size_hint_x=None,
                                               width=MIN_TARGET * 1.2))
            widgets.append(self.button(self.t("cancel_ticket"), lambda i=tk.id: self.act(lambda: self.staff.cancel(i)),
                                       kind="danger", name=f"cancel:{tk.id}", step=0.8, size_hint_x=None,
                                       width=MIN_TARGET * 1.2))
            out.append(self.row(widgets))
        return out


class StaffUsbScreen(StaffScreen):
    """The boards on the USB stick, one button each; whatever the stick holds, it answers in words."""

    title_key = "staff_usb"

    def install(self, path):
        def done(installed):
            return self.t("usb_installed", version=installed.board.version, code=installed.verification_code)
        try:
            installed = self.staff.import_board(path)
        except PishkhanError as e:
            kind = getattr(e, "kind", "invalid")
            # the details on a line of their own, which then reads left to right
            self.kiosk.update(message=self.t("usb_refused", reason=self.t(f"refused_{kind}")) + f"\n{e}")
            return
        self.kiosk.update(message=done(installed))

    def rows(self):
        mount = self.kiosk.config.kiosk.usb_mount
        try:
            found = self.staff.usb_files()
        except Exception:  # scan() itself never raises; this is the last guard
            log.exception("USB scan failed")
            return [self._note(self.t("usb_unreadable"), "usb-problem")]
        if found.problem == "missing":
            return [self._note(self.t("usb_missing", mount=mount), "usb-problem")]
        if found.problem == "timeout":
            return [self._note(self.t("usb_slow", seconds=int(usb_import.SCAN_SECONDS)), "usb-problem")]
        if found.problem:
            return [self._note(self.t("usb_unreadable"), "usb-problem")]
        out = []
        if found.skipped:
            out.append(self._note(self.t("usb_skipped", n=found.skipped), "usb-skipped"))
        if found.truncated:
            out.append(self._note(self.t("usb_truncated"), "usb-truncated"))
        if not found.files:
            out.append(self._note(self.t("usb_none", mount=mount), "usb-none"))
            return out
        out.insert(0, self.row([self.text(self.t("usb_pick"), bold=True)]))
        for path in found.files:
            out.append(self.row([self.button(path.name, lambda p=path: self.install(p), name=f"usb-file:{path.name}",
                                             step=0.9)]))
        return out

    def _note(self, text, name):
        return self.row([self.text(text, 0.8, name=name, max_lines=3)])


class StaffInfoScreen(StaffScreen):
    title_key = "staff_info"
    row_height = 72

    def rows(self):
        out = []
        for label, value in self.staff.device_info(self.lang):
            out.append(self.row([self.text(label, 0.9, bold=True, size_hint_x=0.3),
                                 self.text(value, 0.85, name=f"info:{label}")]))
        return out


__all__ = ["PinScreen", "StaffMenuScreen", "StaffCountersScreen", "StaffServicesScreen", "StaffTextScreen",
           "StaffNoticesScreen", "StaffQueueScreen", "StaffUsbScreen", "StaffInfoScreen", "category_title"]
