"""Rating the service (طرح تکریم ارباب رجوع): the ticket number on a big keypad, then five big answers in words.

Params: ``step`` (``number``, ``score`` or ``done``), ``label`` (the ticket being rated) and ``message``
(a kind sentence: a refusal on the keypad, the thanks when done). Nothing personal is asked. The answers
are words with the score's digit, no faces: Vazirmatn has no face, star or bullet glyphs. Every step has
home and back, and the kiosk's idle timeout takes an unattended screen back to the start.
"""

from __future__ import annotations

import logging

from pishkhan.exc import PishkhanError, RatingRefused
from pishkhan.queue.ratings import MAX_TYPED, SCORES, Ratings

from ..widgets import MIN_TARGET, SPACING, WARN, Btn, Column
from .base import KioskScreen

log = logging.getLogger(__name__)

#: Refusal reasons with their own sentence (any other refusal reads as ``rate_failed``).
REFUSALS = ("already_rated", "not_served", "unknown_ticket", "invalid")


class RatingScreen(KioskScreen):
    """The three steps of one rating; the typed number lives on the screen object only."""

    title_key = "rate_title"

    def __init__(self, kiosk, **kw):
        super().__init__(kiosk, **kw)
        self.typed = ""

    def on_pre_enter(self, *_):
        if self.params.get("step", "number") == "number" and not self.params.get("message"):
            self.typed = ""

    def ratings(self) -> Ratings:
        return Ratings(self.model.store)

    def letters(self) -> list[str]:
        """The lane prefix letters of this office (the keys a ticket number may start with)."""
        return sorted({lane.prefix for lane in self.kiosk.config.lanes if lane.prefix})

    # -- actions -----------------------------------------------------------------
    def press(self, key: str):
        if key == "C":
            self.typed = self.typed[:-1]
        elif key == "OK":
            self.submit()
            return
        elif len(self.typed) < MAX_TYPED:
            self.typed = key + self.typed.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if key.isalpha() else self.typed + key
        if self.params.get("message"):  # the refusal gives way to the prompt
            self.params["message"] = ""
            self._message.text, self._message.color = self.t("rate_enter_number"), (1, 1, 1, 1)
        self._typed.text = self.num(self.typed) if self.typed else " "  # only the number changes: no rebuild

    def refuse(self, reason: str):
        self.params.update(step="number", message=self.t(f"rate_{reason}" if reason in REFUSALS else "rate_failed"))
        self.typed = ""
        self.refresh()

    def submit(self):
        try:
            label = self.ratings().check(self.typed)
        except RatingRefused as e:
            self.refuse(e.reason)
            return
        except PishkhanError:
            log.exception("cannot check a ticket for rating")
            self.refuse("failed")
            return
        self.params.update(step="score", label=label, message="")
        self.refresh()

    def choose(self, score: int):
        try:
            self.ratings().rate(self.params.get("label", ""), score)
        except RatingRefused as e:
            self.refuse(e.reason)
            return
        except PishkhanError:
            log.exception("cannot keep a rating")
            self.refuse("failed")
            return
        self.typed = ""
        self.params.update(step="done", message=self.t("rate_thanks"))
        self.refresh()

    # -- drawing -----------------------------------------------------------------
    def body(self):
        step = self.params.get("step", "number")
        if step == "score":
            return self.scores()
        if step == "done":
            return Column([self.text(self.params.get("message", ""), 1.6, bold=True, align="center",
                                     color=(0.55, 1, 0.6, 1), name="rate-thanks"),
                           self.row([Column(), Btn(self.t("done"), kind="ok", size=self.fs(1.2), name="done",
                                                   on_press=self.kiosk.finish), Column()],
                                    size_hint_y=None, height=MIN_TARGET)])
        return self.keypad()

    def keypad(self):
        message = self.params.get("message", "")
        self._message = self.text(message or self.t("rate_enter_number"), 1.0, align="center",
                                  color=WARN if message else (1, 1, 1, 1), name="rate-message", size_hint_y=None,
                                  height=self.fs() * 2.6, max_lines=2)
        self._typed = self.text(self.num(self.typed) if self.typed else " ", 2.4, bold=True, align="center",
                                name="rate-typed", size_hint_y=None, height=self.fs(2.4) * 1.7)
        lines = [self._message, self._typed]
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "OK"]
        rows = []
        letters = self.letters()
        if letters:
            rows.append(self.row([Btn(k, size=self.fs(1.3), name=f"rate-key:{k}", on_press=lambda k=k: self.press(k))
                                  for k in letters], size_hint_y=None, height=MIN_TARGET))
        for i in range(0, 12, 3):
            rows.append(self.row([Btn({"C": self.t("delete"), "OK": self.t("ok")}.get(k, self.num(k)),
                                      kind={"C": "danger", "OK": "ok"}.get(k, "normal"), size=self.fs(1.3),
                                      name=f"rate-key:{k}", on_press=lambda k=k: self.press(k))
                                  for k in keys[i:i + 3]], size_hint_y=None, height=MIN_TARGET))
        pad = Column(rows, size_hint=(None, None), width=3 * 190 + 2 * SPACING,
                     height=len(rows) * MIN_TARGET + (len(rows) - 1) * SPACING, pos_hint={"center_x": 0.5})
        if self.landscape:  # the prompt and the number beside the pad, so a letter row still fits
            pad.pos_hint = {"center_y": 0.5}
            return self.row([Column(lines + [Column()]), Column([Column(), pad, Column()],
                                                               size_hint_x=None, width=pad.width)])
        return Column(lines + [pad, Column()])

    def scores(self):
        label = self.params.get("label", "")
        question = self.text(self.t("rate_choose", label=self.num(label)), 1.2, bold=True, align="center",
                             name="rate-question", size_hint_y=None, height=self.fs(1.2) * 2.4)
        best_first = sorted(SCORES, reverse=True)
        buttons = [Btn(f"{self.num(score)}   {self.t(f'score_{score}')}", kind="primary" if score >= 4 else "normal",
                       size=self.fs(1.4), name=f"score:{score}", on_press=lambda s=score: self.choose(s))
                   for score in best_first]
        if not self.landscape:  # one answer a line on a portrait screen
            for b in buttons:
                b.size_hint_y, b.height = None, int(MIN_TARGET * 1.3)
            return Column([question, *buttons, Column()])
        return Column([question, self.row(buttons, size_hint_y=None, height=int(MIN_TARGET * 2.4)), Column()])
