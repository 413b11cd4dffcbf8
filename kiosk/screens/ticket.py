"""Ticket issued: the number very large while it prints; if the printer
fails, the number stays with "please note your number"."""

from __future__ import annotations

from ..widgets import MIN_TARGET, WARN, Btn, Column, Text, font_size
from .base import KioskScreen
from .browse import service_title

#: The ticket number's type size, in steps of the base size (not scaled: it is huge already).
NUMBER_STEP = 6.5


class TicketScreen(KioskScreen):
    """Params: ``ticket`` and ``print_state`` (``printing``, ``printed``, ``failed``)."""

    title_key = "your_number"

    def body(self):
        ticket = self.params["ticket"]
        state = self.params.get("print_state", "printing")
        label = ticket.display_label if self.rtl else ticket.label
        service = self.model.service(ticket.service_code)
        title = service_title(service, self.lang) if service else ticket.service_title
        widgets = [self.text(title, 1.1, align="center", fit=True, name="ticket-service")]
        if ticket.priority:
            widgets.insert(0, self.text(self.t("priority_mark"), 1.2, bold=True, align="center", color=WARN,
                                        name="priority-mark", fit=True))
        if ticket.wait_minutes >= 0:
            widgets.append(self.text(self.t("people_ahead", n=ticket.people_ahead) + "   —   "
                                     + self.wait_phrase(ticket.people_ahead, ticket.wait_minutes), 1.0, align="center",
                                     fit=True))
        if state == "printing":
            status, color = self.t("printing"), (1, 1, 1, 1)
        elif state == "printed":
            status, color = self.t("printed"), (0.55, 1, 0.6, 1)
        else:
            status, color = self.t("print_failed"), WARN
        widgets.append(self.text(status, 1.5 if state == "failed" else 1.1, bold=True, align="center", color=color,
                                 name="ticket-status", fit=True))
        if state == "failed":
            widgets.append(self.text(self.t("print_failed_why"), 0.9, align="center", fit=True))
        widgets.append(self.row([Column(), Btn(self.t("done"), kind="ok", size=self.fs(1.2), name="done",
                                               on_press=self.kiosk.finish), Column()],
                                size_hint_y=None, height=MIN_TARGET))
        # The number, very large, in whatever height the lines under it leave.
        number = Text(label, rtl=self.rtl, size=font_size(1.0, NUMBER_STEP), bold=True, align="center",
                      name="ticket-number")
        number.bind(height=lambda w, h: setattr(w, "font_size", min(font_size(1.0, NUMBER_STEP), int(h / 1.6))))
        return Column([number] + widgets)
