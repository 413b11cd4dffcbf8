"""No ticket now: the closed / cut-off screen and the out-of-service screen."""

from __future__ import annotations

from ..widgets import MIN_TARGET, WARN, Btn, Column, Text
from .base import KioskScreen


class ClosedScreen(KioskScreen):
    """Params: ``reason`` (closed, cutoff, no_counter, unavailable); when tickets start again comes from the hours."""

    title_key = "closed_title"

    def body(self):
        why, when = self.refusal(self.params.get("reason", "closed"))
        widgets = [Column(),
                   self.text(self.t("closed_title"), 1.6, bold=True, align="center", color=WARN,
                             size_hint_y=None, height=self.fs(1.6) * 2.2),
                   self.text(why, 1.2, align="center", name="closed-reason", fit=True)]
        if when:
            widgets.append(self.text(when, 1.3, bold=True, align="center", name="next-open", fit=True))
        widgets += [Column(), self.row([Btn(self.t("see_services"), size=self.fs(1.1), name="see-services",
                                            on_press=lambda: self.kiosk.show("browse")),
                                        Btn(self.t("home"), kind="ok", size=self.fs(1.2), name="ok",
                                            on_press=self.kiosk.home)],
                                       size_hint_y=None, height=MIN_TARGET)]
        return Column(widgets)


class OutOfServiceScreen(KioskScreen):
    """The store or the board cannot be used: show the device id for the help line."""

    title_key = "out_title"

    def body(self):
        device = self.kiosk.config.device_id
        return Column([
            Column(),
            self.text(self.t("out_title"), 1.6, bold=True, align="center", color=WARN,
                      size_hint_y=None, height=self.fs(1.6) * 2.2),
            self.text(self.t("out_help"), 1.2, align="center", fit=True),
            self.text(self.t("device_id"), 1.2, align="center", size_hint_y=None, height=self.fs(1.2) * 2),
            # The id alone on its line, left to right, so it reads the same in both languages.
            Text(device, rtl=False, align="center", size=self.fs(1.8), bold=True, name="device-id",
                 size_hint_y=None, height=self.fs(1.8) * 1.8),
            Column(),
            self.row([Column(), Btn(self.t("retry"), kind="ok", size=self.fs(1.2), name="retry",
                                    on_press=self.kiosk.retry), Column()], size_hint_y=None, height=MIN_TARGET),
        ])
