"""Persian text of the wall display (header, now-serving panel, footer, calls).

The board pages' own words live in :mod:`display.strings` (the renderer's).
Numbers are filled in with Persian digits by the caller.
"""

#: The spoken and shown call: «شماره ۲۳، باجه ۲».
CALL = "شماره {number}، باجه {counter}"
NOW_SERVING = "نوبت فعلی"
NUMBER = "شماره"
COUNTER = "باجه {counter}"
RECENT = "نوبت‌های قبلی"
RECENT_ROW = "{number}   —   باجه {counter}"
NO_CALLS = "هنوز نوبتی اعلام نشده است"
RECALL = "تکرار"

LICENCE = "شمارهٔ مجوز: {licence}"
HOURS_TODAY = "ساعات کار امروز: {hours}"
BOARD_VERSION = "نسخهٔ تابلو: {version}  ·  کد تأیید: {code}"
NO_BOARD = "تابلوی معتبر در دسترس نیست — لطفاً از کارکنان بپرسید"
TICKER_SEPARATOR = "   •   "
#: The staff line (small, muted): a circular awaits the staff's reading; never its content.
NEW_CIRCULAR = "بخشنامهٔ تازه برای کارکنان"

#: Every fixed text above is drawn in Vazirmatn; tests check each glyph exists.
#: How Latin ticket prefixes are read out by the Persian voice.
LETTER_NAMES = {
    "A": "اِی", "B": "بی", "C": "سی", "D": "دی", "E": "ای", "F": "اِف", "G": "جی", "H": "اِچ",
    "K": "کِی", "L": "اِل", "M": "اِم", "N": "اِن", "P": "پی", "R": "آر", "S": "اِس", "T": "تی",
}
