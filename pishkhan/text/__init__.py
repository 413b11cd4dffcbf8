"""Persian text, Jalali dates and fonts.

:mod:`~pishkhan.text.persian` (digits, money, search normalisation, isolating
left-to-right runs), :mod:`~pishkhan.text.jalali` (Solar Hijri dates in
Asia/Tehran time, in Persian words), :mod:`~pishkhan.text.fonts` (finding
Vazirmatn and checking that raqm shapes right to left), :mod:`~pishkhan.text.safety`
(what a signed text field may contain; escaping text for a terminal).
"""
