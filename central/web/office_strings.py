"""The Persian words of an office's health history, the devices beyond a health threshold, and an office's past
day (central/web/office_history.py); English beside them where an engineer reads it."""

HEALTH_OF_OFFICE = "سابقهٔ سلامت دستگاه {office}"
HEALTH_LINK = "سابقهٔ سلامت دستگاه"
DAY_LINK = "یک روز از گذشته (خط زمانی)"
FLEET_HEALTH = "دستگاه‌های بیرون از آستانهٔ سلامت"
FLEET_HEALTH_NAV = "سلامت دستگاه‌ها"
FLEET_HEALTH_HELP = ("دستگاه‌هایی که آخرین خوانش سلامتشان (در ۲۴ ساعت گذشته) از دست‌کم یکی از آستانه‌ها بیرون است؛ "
                     "تازه‌ترین خوانش در بالا.")
KINDS = {"temperature": "دمای بالا", "under_voltage": "ولتاژ کم", "disk": "دیسک تقریباً پر", "memory": "حافظهٔ کم"}
ALL_KINDS = "همهٔ آستانه‌ها"
KIND = "آستانه"
THRESHOLDS = "آستانه‌ها"
THRESHOLD_LINES = {
    "temperature": "دمای پردازنده {n} درجهٔ سانتی‌گراد یا بیشتر",
    "under_voltage": "ولتاژ کم در همان لحظه",
    "disk": "فضای آزاد دیسک کمتر از {percent}٪ یا کمتر از {size}",
    "memory": "حافظهٔ در دسترس کمتر از {n}٪",
}
COL_READING_AT = "زمان خوانش"
COL_TEMP = "دمای پردازنده"
COL_TEMP_RANGE = "دما (کمینه تا بیشینه)"
COL_UNDER_VOLTAGE = "ولتاژ کم"
COL_DISK = "فضای آزاد دیسک"
COL_DISK_MIN = "کمترین فضای آزاد دیسک"
COL_MEMORY = "حافظهٔ در دسترس"
COL_MEMORY_MIN = "کمترین حافظهٔ در دسترس"
COL_BEYOND = "بیرون از آستانه"
COL_SAMPLES = "خوانش‌ها"
COL_HOUR = "ساعت"
COL_DAY = "روز"
BY = {"hour": "به تفکیک ساعت", "day": "به تفکیک روز"}
NO_SAMPLES = "در این بازه هیچ خوانش سلامتی از این دستگاه به مرکز نرسیده است."
NO_DEVICES = "اکنون هیچ دستگاهی بیرون از این آستانه‌ها نیست."
UNDER_VOLTAGE_TIMES = "{n} خوانش"
CROSSINGS = "بازه‌هایی که از آستانه گذشت"
CROSSED = "بیرون از آستانه"
RANGE_TOO_LONG = ("بازه بیش از {days} روز است؛ سابقهٔ سلامت {days} روز نگه داشته می‌شود. "
                  "The period is longer than the {days} days of health history kept.")
BAD_KIND = "این آستانه شناخته نیست. Unknown threshold kind: {text}"
PAGE = "صفحهٔ {page} از {pages} ({total} دستگاه)"
PREVIOUS = "صفحهٔ قبل"
NEXT = "صفحهٔ بعد"
SPARK_TEMP = "بیشینهٔ دمای پردازنده"
SPARK_DISK = "کمترین درصد فضای آزاد دیسک"
SPARK_MEMORY = "کمترین درصد حافظهٔ در دسترس"
SPARK_VOLTAGE = "ولتاژ کم"
SPARK_NONE = "خوانشی نیست"
OF_TOTAL = "{free} ({percent} آزاد)"
ONLINE_NOW = {True: "برخط", False: "قطع"}

#: An office's past day.
DAY_OF_OFFICE = "{office}، روز {day}"
PICK_DAY = "روز (مثلاً ۱۴۰۵/۰۹/۱۶)"
FROM_REPORT = "بنا بر گزارش روزانهٔ دفتر"
FROM_CENTRE = {"report": "بنا بر داوری خود مرکز از زنجیرهٔ واقعیت‌های دستگاه (در همان ساعات گزارش)",
               "official": "بنا بر داوری خود مرکز از زنجیرهٔ واقعیت‌های دستگاه، در ساعات رسمی این دفتر"}
NO_DAY = "از این روز نه گزارشی از دفتر به مرکز رسیده و نه واقعیتی که مرکز بتواند داوری کند."
NO_REPORT_BUT_CENTRE = "دفتر گزارشی از این روز نفرستاده است؛ آنچه در پایین می‌آید داوری خود مرکز است."
NO_REPORT = "دفتر گزارشی از این روز نفرستاده است."
VERDICT = "داوری مرکز دربارهٔ گزارش"
ANNOUNCED = "ساعات اعلام‌شده"
RUNS = "وضعیت‌ها"
EVENTS = "رویدادهای روز"
CENTRE_EVENTS = "آنچه مرکز خود دید"
NO_RUNS = "در این گزارش هیچ بازهٔ خوانایی از وضعیت‌ها یا ساعات اعلام‌شده نیست."
NO_EVENTS = "رویدادی ثبت نشده است."
TIMELINE_LABEL = "خط زمانی {day}: {summary}"
NOT_COMPLETE = "گزارش تا {time} است (روز کامل نشده بود)."
RUN_LINE = "{state} از {start} تا {end} ({minutes})"
