"""Service detail: the fees, the documents, the wait, and the ticket buttons."""

from __future__ import annotations

from ..widgets import MIN_TARGET, PANEL, WARN, Btn, Column, Scrolling, paint
from .base import KioskScreen
from .browse import money, service_title


class DetailScreen(KioskScreen):
    """The service's whole name heads the body, wrapped, never cut short."""

    title_key = "service_detail"

    def service(self):
        return self.model.service(self.params.get("code", ""))

    def body(self):
        s = self.service()
        if s is None:  # the board changed under us
            return self.text(self.t("no_results"), 1.2, align="center")
        unit = self.model.currency()
        line_h = self.fs() * 1.6
        fees = paint(Column(padding=12, spacing=4), PANEL)
        for key, amount, bold in (("government_fee", s.government_fee, False), ("office_fee", s.office_fee, False),
                                  ("total", s.total_fee, True)):
            fees.add_widget(self.row([self.text(self.t(key), bold=bold),
                                      self.text(money(amount, unit, self.lang), bold=bold, name=f"fee:{key}",
                                                align="left" if self.rtl else "right")],
                                     size_hint_y=None, height=line_h))
        fees.add_widget(Column())
        lines = [self.text(self.t("documents"), bold=True, color=WARN, size_hint_y=None, height=line_h)]
        lines += [self.text("• " + d, 0.9, fit=True) for d in s.documents or [self.t("no_documents")]]
        if s.notes and self.lang == "fa":
            lines.append(self.text(s.notes, 0.8, fit=True))
        docs = paint(Scrolling(lines, padding=12, spacing=4), PANEL)  # a long list at large text scrolls
        info = self.row([fees, docs]) if self.landscape else Column([fees, docs])

        widgets = [self.text(service_title(s, self.lang), 1.1, bold=True, name="service-name", fit=True), info]
        if s.unavailable:
            widgets.append(self.text(self.t("unavailable", reason=s.unavailable), 1.1, bold=True, color=WARN,
                                     name="unavailable", size_hint_y=None, height=MIN_TARGET))
            return Column(widgets)
        ok, reason, _ = self.model.status()
        if not ok:  # say why here, instead of a ticket button that can only refuse
            widgets.append(self.text("  ".join(filter(None, self.refusal(reason))), 1.05, bold=True, color=WARN,
                                     name="not-accepting", fit=True))
            return Column(widgets)
        estimate = self.model.estimate(s.code)
        if estimate is not None and estimate.minutes >= 0:
            wait = self.t("people_ahead", n=estimate.people_ahead) + "   —   " + self.wait_phrase(
                estimate.people_ahead, estimate.minutes)
            widgets.append(self.text(wait, 1.05, bold=True, name="wait", fit=True))
        buttons = [Btn(self.t("take_ticket"), kind="primary", size=self.fs(1.5), name="take-ticket",
                       on_press=lambda: self.kiosk.take_ticket(s.code, priority=False))]
        if self.kiosk.config.office.allow_priority:
            buttons.append(Btn(self.t("priority_ticket"), size=self.fs(0.95), name="priority-ticket",
                               on_press=lambda: self.kiosk.take_ticket(s.code, priority=True), size_hint_x=0.6))
        widgets.append(self.row(buttons, size_hint_y=None, height=max(MIN_TARGET * 1.3, self.fs(1.5) * 2)))
        return Column(widgets)
