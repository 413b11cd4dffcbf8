"""Persian text of the board pages (screen and poster).

Every fixed word drawn on a board page lives here, so a Persian reader can
check them in one place. Numbers are filled in with Persian digits by the
caller (:func:`pishkhan.text.persian.to_persian_digits`).
"""

BOARD_TITLE = "تعرفهٔ رسمی خدمات"
LICENCE = "شمارهٔ مجوز: {licence}"

COL_TITLE = "شرح خدمت"
COL_GOVERNMENT = "سهم دولت"
COL_OFFICE = "کارمزد دفتر"
COL_TOTAL = "جمع کل"
#: Second line of each amount column's header: the currency unit.
COL_UNIT = "({unit})"

CONTINUED = "{title} (ادامه)"
UNAVAILABLE = "فعلاً ارائه نمی‌شود"
UNAVAILABLE_REASON = "فعلاً ارائه نمی‌شود: {reason}"

NOTICE = "اطلاعیه: {text}"

VERSION = "نسخهٔ تابلو: {version}"
EFFECTIVE = "معتبر از {date}"
ISSUER = "صادرکننده: {issuer}"
CODE = "کد تأیید: {code}"
UNSIGNED = "پیش‌نمایش — امضا نشده"
PAGE = "صفحه {n} از {count}"
#: Between footer facts. Not a middle dot: beside Persian digits it reads as zero.
SEPARATOR = "  |  "

NO_BOARD = "تابلوی معتبر در دسترس نیست — لطفاً از کارکنان بپرسید"
NO_SERVICES = "در این تابلو خدمتی برای نمایش نیست — لطفاً از کارکنان بپرسید"

#: What the QR code in the footer encodes: the centre's public verification
#: page for this board's code (``centre.verify_url`` + code), which a
#: customer's or inspector's phone opens to see the official board.
QR_DATA = "{base}{code}"
#: The verification page's base until the configuration names one.
VERIFY_URL = "https://pishkhan.example.ir/verify/"
