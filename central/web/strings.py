"""Every Persian string of the centre's dashboard and verification page."""

TITLE = "پیشخوان — پایش ناوگان"
FLEET = "ناوگان دفاتر"
DEVICES = "فهرست دستگاه‌ها"
REPORT = "گزارش روزانهٔ ساعات کاری"
LOGIN = "ورود"
LOGOUT = "خروج"
USERNAME = "نام کاربری"
PASSWORD = "گذرواژه"
LOGIN_FAILED = "نام کاربری یا گذرواژه درست نیست."
LOGGED_IN_AS = "کاربر"
ALL_PROVINCES = "همهٔ استان‌ها"
NATIONAL_USER = "ستاد مرکزی"
PROVINCE = "استان"
PROVINCE_N = "استان {code}"
#: A province by its name and code (pishkhan.provinces.NAMES).
PROVINCE_NAMED = "{name} ({code})"
ALL = "همه"
TOTAL = "جمع"
TODAY = "امروز"
DATE = "تاریخ"
SHOW = "نمایش"
FILTER_STATE = "وضعیت"
UNKNOWN = "نامعلوم"
NONE = "—"
JSON = "JSON"
CSV = "دریافت CSV"
NO_DEVICES = "دستگاهی با این شرایط نیست."
NO_ALERTS = "هشداری نیست."
ALERTS = "هشدارهای ۷ روز گذشته (تازه‌ترین در بالا)"
DEVICE_COUNT = "دستگاه‌ها"
FORBIDDEN = "این صفحه برای استان شما نیست."
NOT_FOUND = "پیدا نشد."
#: Shown above a page when some stored values could not be read (they are shown as UNKNOWN).
UNREADABLE = "{n} مقدار ذخیره‌شده در این صفحه خوانا نبود و «نامعلوم» نشان داده شده است."

#: Column heads of the fleet counts, by state.
STATE_LABELS = {
    "total": "همه",
    "online": "برخط",
    "offline": "قطع",
    "late": "تأخیر در گشایش امروز",
    "closed": "تعطیلی در ساعات کاری امروز",
    "outdated": "تابلوی قدیمی",
}
STATE_HELP = {
    "late": "دفاتری که امروز دیرتر از ساعت اعلام‌شده باز شدند",
    "closed": "دفاتری که امروز در ساعات اعلام‌شده بسته بودند یا زودتر بستند",
    "outdated": "دفاتری که تابلوی تعرفه‌ای قدیمی‌تر از آخرین تابلوی رسمی نشان می‌دهند",
}

ONLINE = "برخط"
OFFLINE = "قطع"
SINCE = "از"
LATE_BY = "تأخیر {minutes} دقیقه"
OPENED_AT = "گشایش {time}"
NOT_OPENED = "هنوز باز نشده"
#: A late opening not known to have opened: closed at least until then (central.status.follow_opening).
NOT_OPENED_UNTIL = "تا {time} هنوز باز نشده بود"
OFFLINE_REASONS = {"lost": "قطع ناگهانی", "stopped": "خاموش‌شدن عادی"}
CLOSED_KIND = {"closed_during_hours": "بسته در ساعات کاری", "early_closing": "تعطیلی زودهنگام"}

BOARD_STATES = {"current": "به‌روز", "outdated": "قدیمی", "unknown": "نامعلوم", "missing": "نصب‌نشده"}
BOARD_LAYER = "لایه {scope}: نسخهٔ {version} (رسمی: {official})"
BOARD_BEHIND = "لایه {scope}: نسخهٔ {version} نشان داده می‌شود؛ نسخهٔ رسمی {official} از {since} اجراست"
BOARD_MISSING = "لایه {scope} نصب نشده (رسمی: نسخهٔ {official} از {since})"
SCOPE_NAMES = {"national": "ملی", "province": "استان {code}", "office": "دفتر {code}"}

#: Column heads of the device list.
COL_OFFICE = "دفتر"
COL_DEVICE = "شناسهٔ دستگاه"
COL_STATUS = "اتصال"
COL_LATE = "گشایش امروز"
COL_CLOSED = "تعطیلی در ساعات کاری"
COL_BOARD = "تابلوی تعرفه"
COL_GAPS = "پیام‌های نرسیده"
COL_LAST_SEEN = "آخرین پیام"
ON_TIME = "به‌موقع"

#: Alert kinds.
EVENT_NAMES = {
    "late_opening": "تأخیر در گشایش",
    "closed_during_hours": "بسته در ساعات کاری",
    "early_closing": "تعطیلی زودهنگام",
    "printer_out": "چاپگر از کار افتاده",
    "display_off": "نمایشگر خاموش",
    "offline": "قطع اتصال",
    "document_refused": "سند رد شد",
    "board_not_current": "تابلوی تعرفه به‌روز نیست",
    "schedule_not_current": "برنامهٔ ساعات کاری به‌روز نیست",
    "clock_not_synchronised": "ساعت دستگاه تنظیم نیست",
    "clock_jumped": "پرش ساعت دستگاه",
    "outage": "دستگاه خاموش یا بی‌خبر",
    "command_result": "نتیجهٔ فرمان",
    "identity_mismatch": "هویت اعلام‌شده با ثبت مرکز نمی‌خواند",
    "seq_jumped": "پرش شمارهٔ پیام‌ها",
    "over_budget": "پیام‌های بیش از سهمیهٔ روزانهٔ دستگاه رد شد",
}
COL_TIME = "زمان"
COL_EVENT = "رویداد"
COL_DETAIL = "جزئیات"

#: The office page.
OFFICE = "دفتر"
STATUS = "وضعیت اتصال"
VERSIONS = "نسخه‌ها"
AGENT_VERSION = "نسخهٔ عامل"
SOFTWARE_VERSION = "نسخهٔ نرم‌افزار"
BOARD_VERSION = "نسخهٔ تابلو"
SCHEDULE_VERSION = "نسخهٔ برنامهٔ ساعات"
CLOCK = "ساعت دستگاه"
CLOCK_SYNCED = {True: "تنظیم", False: "تنظیم نیست", None: "نامعلوم"}
TELEMETRY = "آخرین گزارش سلامت"
TELEMETRY_AT = "زمان گزارش"
READING = "سنجه"
VALUE = "مقدار"
TODAY_MINUTES = "دقایق امروز در ساعات اعلام‌شده"
NO_COMPLIANCE = "دستگاه هنوز گزارشی از امروز نفرستاده است."
EVENTS = "رویدادها"
SNAPSHOT = "آخرین تصویر نمایشگر"
NO_SNAPSHOT = "تصویری درخواست نشده است."
SEQUENCE = "پیام‌ها"
SEQ_LINE = "دریافت‌شده {received}، تکراری {duplicates}، نرسیده {gaps}"
COMPLIANCE_STATES = {"serving": "در حال خدمت", "degraded": "خدمت با نقص", "closed": "بسته",
                     "unknown": "نامعلوم"}
MINUTES = "{n} دقیقه"
SCHEDULED = "ساعات اعلام‌شده"
JUDGED_UNTIL = "تا"

#: Health readings (pishkhan.hardware.health), their labels.
READINGS = {
    "uptime_s": "زمان روشن بودن",
    "cpu_temp_c": "دمای پردازنده",
    "throttled": "محدودیت برق/دما",
    "load_1m": "بار پردازنده (۱ دقیقه)",
    "mem_total_kb": "حافظهٔ کل",
    "mem_available_kb": "حافظهٔ آزاد",
    "disk_free_bytes": "فضای آزاد دیسک",
    "disk_total_bytes": "فضای کل دیسک",
    "storage_written_bytes": "نوشته‌شده روی کارت",
    "fs_errors": "خطاهای سامانهٔ پرونده",
    "net_iface": "رابط شبکه",
    "net_addr": "نشانی شبکه",
    "wifi_signal_dbm": "قدرت سیگنال وای‌فای",
    "agent.outbox.depth": "پیام‌های در صف ارسال",
    "agent.outbox.oldest_age_s": "عمر قدیمی‌ترین پیام در صف",
    "agent.uptime_s": "زمان اجرای عامل",
}

#: The report page.
REPORT_COLUMNS = {
    "province": "استان",
    "offices_known": "دفاتر",
    "offices_reporting": "دفاتر گزارش‌دهنده",
    "offices_not_reporting": "گزارش نداده",
    "scheduled_minutes": "دقایق اعلام‌شده",
    "serving_minutes": "در حال خدمت",
    "degraded_minutes": "خدمت با نقص",
    "closed_minutes": "بسته",
    "unknown_minutes": "نامعلوم",
    "late_openings": "تأخیر در گشایش (دفتر)",
    "late_opening_minutes": "دقایق تأخیر",
    "early_closings": "تعطیلی زودهنگام (دفتر)",
}
NO_REPORTS = "برای این روز گزارشی نرسیده است."
#: What the report counts (and what the fleet page counts instead).
RATINGS_LINE = ("امتیاز مراجعان (طرح تکریم ارباب رجوع): {count} امتیاز، میانگین {mean} از ۵ — عالی {s5}، خوب {s4}، "
                "متوسط {s3}، ضعیف {s2}، خیلی ضعیف {s1}")
NO_RATINGS = "امتیاز مراجعان (طرح تکریم ارباب رجوع): امتیازی ثبت نشده است."
REPORT_BASIS = ("این گزارش فقط گزارش‌های روزانه‌ای را می‌شمارد که خود دفاتر فرستاده‌اند (هر دفتر گزارش روزش را "
                "پس از پایان ساعات کاری می‌فرستد): {reporting} دفتر از {known} دفتر برای این روز گزارش فرستاده‌اند. "
                "دفتری که گزارش نداده «گزارش نداده» نشان داده می‌شود، نه صفر.")
REPORT_FLEET = "تأخیرها و تعطیلی‌های امروز تا این لحظه را صفحهٔ ناوگان از رویدادها و وضعیت لحظه‌ای دفاتر می‌شمارد:"
REPORT_FLEET_LINK = "دفاتر با تأخیر در گشایش امروز (صفحهٔ ناوگان)"
NOT_REPORTED = "گزارش نداده"
NOT_REPORTED_N = "هیچ‌یک از {n} دفتر این استان گزارش نداده است"
NO_REPORTS_DAY = "هیچ دفتری برای این روز گزارش نفرستاده است ({known} دفتر ثبت‌شده)؛ این روز رقمی برای نشان دادن ندارد."
PARTIAL = "جمع‌ها فقط از دفاتر گزارش‌دهنده است."
#: The fleet page: what its counts come from.
FLEET_BASIS = ("شمارش‌های این صفحه از آخرین وضعیت و رویدادهای لحظه‌ای هر دفتر است (و گزارش روزانه‌اش اگر رسیده باشد)؛ "
               "گزارش روزانه فقط گزارش‌های روزانهٔ رسیده را می‌شمارد.")
CHART_TITLE = "دقایق استان {code}"
DAY_MINUTES = "دقایق این روز در ساعات اعلام‌شده"
CHART_TITLE_NAMED = "دقایق {province}"
#: The report's date: picked and shown in the Jalali calendar.
DATE_JALALI = "تاریخ (مثلاً ۱۴۰۵/۰۹/۱۶)"  # an example of the form, not a date: said so
PREVIOUS_DAY = "روز قبل"
NEXT_DAY = "روز بعد"
BAD_DATE = "تاریخ را به تقویم خورشیدی بنویسید، مانند ۱۴۰۵/۰۹/۱۶ (نوشته شده: {text}). Date: expected a Jalali YYYY/MM/DD (or a Gregorian YYYY-MM-DD)."
BAD_PROVINCE = "استان را با کد دو رقمی آن بنویسید، مانند ۲۳ یا ۰۶ (نوشته شده: {text}). Province: expected its code."
LATE_OFFICES = "دفاتر با تأخیر در گشایش"

#: The public verification page.
VERIFY_TITLE = "استعلام تابلوی تعرفه"
VERIFY_CODE = "کد استعلام"
VERIFY_OK = "این تابلو رسمی و معتبر است."
VERIFY_SUPERSEDED = "هشدار: این تابلو منسوخ شده است. نسخهٔ تازه‌تری ({newest}) برای {scope} منتشر شده؛ " \
                    "مبالغ این تابلو ممکن است دیگر معتبر نباشد."
VERIFY_UNKNOWN = "هشدار: این کد شناخته نیست. این تابلو از سوی مرجع رسمی منتشر نشده است یا کد اشتباه خوانده شده."
VERIFY_REFUSED = "این کد استعلام نیست: کد استعلام ۹ نویسه است، مانند K7QM-2XHD."
VERIFY_LAYERED = "این تابلو از چند لایهٔ رسمی ساخته شده است:"
ISSUER = "صادرکننده"
VERSION = "نسخه"
DEVICE_COUNT = "دستگاه‌ها"
EFFECTIVE_FROM = "اجرا از"
PUBLISHED_AT = "تاریخ انتشار"
SCOPE = "دامنه"
SERVICE = "خدمت"
GOVERNMENT_FEE = "هزینهٔ دولتی"
OFFICE_FEE = "کارمزد دفتر"
TOTAL_FEE = "جمع"
VERIFY_HELP = "اگر مبلغی که دفتر از شما می‌خواهد با این فهرست یکی نیست، با سامانهٔ رسیدگی به شکایات تماس بگیرید."
DOCUMENT_UNREADABLE = "سند این تابلو خوانا نیست."

# -- the doors (central/web/auth.py, csrf.py)
LOGIN_LOCKED = "به‌خاطر گذرواژه‌های نادرست پیاپی، ورود تا {minutes} دقیقهٔ دیگر بسته است. Too many wrong passwords: try again later."
CSRF_REFUSED = "این فرم از صفحهٔ خود داشبورد نیامده یا کهنه است؛ صفحه را دوباره باز کنید. The form's security token is missing or stale: reload the page."
#: The office page: does the centre vouch for each day's report (central.verification)?
VERIFIED_HEADING = "تأیید گزارش روزانه در مرکز"
VERIFIED_HELP = "مرکز هر روز را خودش از زنجیرهٔ داده‌های دستگاه و آنچه کارگزار دیده است دوباره داوری می‌کند."

# -- what the centre's defences found (central/registry.py, central/fleet.py) --
#: The fleet page, for a national user only: devices heard from but not in the registry.
QUARANTINE_HEADING = "دستگاه‌های ثبت‌نشده (قرنطینه)"
QUARANTINE_HELP = ("این دستگاه‌ها به کارگزار وصل می‌شوند ولی در ثبت مرکز نیستند؛ در هیچ شمارش، گزارش یا سنجه‌ای "
                   "نمی‌آیند. آنچه خودشان دربارهٔ استان و دفتر می‌گویند فقط برای راهنمایی است و پذیرفته نمی‌شود. "
                   "اگر دستگاه از آنِ دفتری است، پس از تأیید استان، آن را ثبت کنید:")
QUARANTINE_COMMAND = "pishkhan central devices add DEVICE --office OFFICE_ID --province CODE --name NAME --db URL"
QUARANTINE_OTHERWISE = "اگر دستگاه شناخته نیست، گذرواژهٔ آن را در کارگزار باطل کنید."
QUARANTINE_EN = ("Not in the registry: counted nowhere. Register it (after checking with the province) "
                 "or revoke its broker credential.")
QUARANTINE_COUNT = "{n} دستگاه ثبت‌نشده"
QUARANTINE_MORE = "{shown} مورد از {n} نشان داده شده است؛ همه: pishkhan central devices list --quarantined"
QUARANTINE_NONE = "همهٔ دستگاه‌هایی که پیام فرستاده‌اند در ثبت مرکز هستند."
QUARANTINED_DEVICE = "این دستگاه در ثبت مرکز نیست (قرنطینه) و در هیچ شمارشی نمی‌آید."
QUARANTINED_DEVICE_EN = "Not in the registry (quarantined): pishkhan central devices add"
#: A device retired from the registry (``devices retire``): not offered for registering again.
RETIRED_DEVICE = "این دستگاه در {when} از ثبت مرکز کنار گذاشته (بازنشسته) شده است و در هیچ شمارشی نمی‌آید."
RETIRED_DEVICE_EN = "Retired from the registry: counted nowhere. A replacement enrols with a new claim code."
COL_CLAIMED = "ادعای خود دستگاه"
COL_CLAIMED_AT = "زمان ادعا"
COL_REGISTER = "فرمان ثبت"
RETIRED = "بازنشسته"
#: An identity_mismatch alert: what the birth claimed against the registry.
IDENTITY_FIELDS = {"province": "استان", "office_id": "شناسهٔ دفتر", "office_name": "نام دفتر"}
REGISTERED = "ثبت مرکز"
CLAIMED = "ادعا"
#: Refused messages (central.fleet: pishkhan.protocol.payloads.REFUSALS), by reason code.
REFUSALS_HEADING = "پیام‌های ردشدهٔ این دستگاه"
REFUSALS_HELP = ("مرکز این پیام‌ها را نپذیرفت و ذخیره نکرد (شکل، اندازه یا زمانشان درست نبود). "
                 "پیام‌های ردشدهٔ پیاپی یعنی نرم‌افزار دستگاه خراب یا دست‌کاری شده است.")
REFUSALS_NONE = "پیامی از این دستگاه رد نشده است."
REFUSALS_LINE = "{n} پیام رد شد؛ آخرین: {when}"
COL_REFUSED = "پیام‌های ردشده"
COL_REASON = "دلیل"
COL_COUNT = "تعداد"
COL_LAST = "آخرین"
REFUSAL_REASONS = {
    "malformed": "پیام ناقص یا نخوانا",
    "not_device_stream": "موضوع MQTT نادرست",
    "too_large": "بزرگ‌تر از اندازهٔ مجاز",
    "not_json": "متن پیام JSON نیست",
    "too_deep": "تودرتوی بیش از حد",
    "duplicate_key": "یک کلید دو بار در یک شیء",
    "schema": "ناسازگار با قالب پیام",
    "unsafe_text": "نویسهٔ کنترلی یا جهت‌نما در متن",
    "wrong_device": "نام دستگاهی دیگر در پیام",
    "wrong_kind": "نوع پیام با موضوع نمی‌خواند",
    "time": "زمان پیام دور از ساعت مرکز",
    "minutes": "دقایق گزارش جمع نمی‌شود",
    "snapshot": "تصویر نمایشگر نادرست",
}

# -- the device's certificate and enrolment (central/web/certificates.py) --------------------------------
CERT_HEADING = "گواهی دستگاه"
CERT_STATES = {"valid": "معتبر", "expiring": "رو به انقضا", "expired": "منقضی", "revoked": "باطل‌شده",
               "none": "بدون گواهی", "unknown": "نامعلوم"}
CERT_VALID_UNTIL = "معتبر تا {when}"
CERT_REVOKED_AT = "باطل‌شده در {when}"
CERT_REASON = "علت"
CERT_HOW = {"enrolled": "ثبت‌نام", "renewed": "تمدید"}
CERT_NONE = "مرکز برای این دستگاه گواهی صادر نکرده است (با رمز عبور وصل می‌شود یا هنوز ثبت‌نام نکرده است)."
COL_CERT = "گواهی"
COL_SERIAL = "شمارهٔ گواهی"
COL_ISSUED = "صدور"
COL_EXPIRES = "پایان اعتبار"
ENROLMENT_HEADING = "ثبت‌نام و گواهی‌ها"
ENROLMENT_HELP = "هر ثبت‌نام، تمدید، ردّ درخواست و ابطال گواهی این دستگاه و درخواست‌های ردشدهٔ دفتر آن."
ENROLLED_LINE = "ثبت‌نام در {when} از نشانی {address}، با کد ثبت دفتر {office}"
NOT_ENROLLED = "ثبت‌نامی از این دستگاه ثبت نشده است."
ENROLMENT_KINDS = {"claim_made": "صدور کد ثبت", "enrolled": "ثبت‌نام", "enrolment_repeated": "تکرار ثبت‌نام",
                   "enrolment_refused": "ردّ ثبت‌نام", "renewed": "تمدید گواهی", "renewal_refused": "ردّ تمدید",
                   "revoked": "ابطال گواهی"}
COL_ADDRESS = "نشانی"

# -- releases (central/releases) --
RELEASES = "به‌روزرسانی‌ها"
RELEASES_EN = "Releases"
VERSIONS_BY_PROVINCE = "نسخه‌های در حال اجرا به تفکیک استان"
VERSION = "نسخه"
ROLLOUTS = "انتشارها"
NO_ROLLOUTS = "هنوز انتشاری نیست."
ROLLOUT = "انتشار"
STAGE = "مرحله"
PACKAGE = "بسته"
SCOPE = "دامنه"
CANARY = "پیشرو"
DOCUMENT = "سند"
HALTED_BECAUSE = "متوقف شد، چون"
ROLLED_BACK_DEVICES = "دستگاه‌هایی که برگشتند یا نتوانستند"
REASON = "علت"
DETAIL = "جزئیات"
DEVICE = "دستگاه"
OFFLINE_DURING = "خاموش در حین به‌روزرسانی"
ROLLOUT_STAGES = {"canary": "پیشرو", "promoted": "همگانی", "complete": "پایان‌یافته", "halted": "متوقف",
                  "superseded": "جایگزین‌شده"}
PROGRESS_LABELS = {"pending": "در انتظار", "in_window": "در پنجره", "installed": "نصب‌شده", "healthy": "سالم",
                   "rolled_back": "برگشت‌خورده", "failed": "ناموفق", "offline": "خاموش"}
HALT_REASONS = {"failures_over_threshold": "برگشت یا خرابی بیش از آستانه", "manual": "به دست کارشناس مرکز"}
FOR_SCOPE = "برای"
CANARIES_OF = "{canaries} از {in_scope} دستگاه"
#: Why a device's update did not finish (the updater's reason codes), beside the code on the Releases page.
UPDATE_REASONS = {"unhealthy": "نسخهٔ نو سالم بالا نیامد", "install_failed": "نصب ناموفق بود",
                  "interrupted": "در میانه قطع شد (برق یا توقف)", "download_failed": "دریافت بسته ناموفق بود",
                  "wrong_hash": "بستهٔ دریافتی با سند نمی‌خواند", "no_rollback_package": "بستهٔ بازگشت در دستگاه نیست",
                  "expired": "سند منقضی شده", "downgrade": "نسخهٔ پایین‌تر بدون اجازهٔ بازگشت",
                  "too_old": "نسخهٔ دستگاه قدیمی‌تر از حد مجاز", "wrong_architecture": "معماری دستگاه نمی‌خواند"}

# -- values in Persian words and units (central/web/words.py) --
YES = "بله"
NO = "خیر"
NONE_OF_THEM = "هیچ‌کدام"
SEE_DETAILS = "در جزئیات فنی"
TECHNICAL = "جزئیات فنی (برای کارشناس فنی)"
UNIT_DAY = "روز"
UNIT_HOUR = "ساعت"
UNIT_MINUTE = "دقیقه"
UNIT_SECOND = "ثانیه"
UNIT_BYTE = "بایت"
UNIT_KB = "کیلوبایت"
UNIT_MB = "مگابایت"
UNIT_GB = "گیگابایت"
UNIT_TB = "ترابایت"
UNIT_CELSIUS = "درجهٔ سانتی‌گراد"
UNIT_DBM = "دسی‌بل‌میلی‌وات"
SPAN = "از {start} تا {end}"
#: The firmware's throttling flags (pishkhan.hardware.health.THROTTLE_BITS).
THROTTLE_FLAGS = {
    "under_voltage": "ولتاژ کم (اکنون)", "freq_capped": "سقف بسامد (اکنون)", "throttling": "کندسازی (اکنون)",
    "soft_temp_limit": "حد دمای نرم (اکنون)", "under_voltage_occurred": "ولتاژ کم (از روشن‌شدن)",
    "freq_capped_occurred": "سقف بسامد (از روشن‌شدن)", "throttling_occurred": "کندسازی (از روشن‌شدن)",
    "soft_temp_limit_occurred": "حد دمای نرم (از روشن‌شدن)",
}
#: A peripheral's last state (printer, display, audio).
PERIPHERAL_STATES = {"ok": "سالم", "on": "روشن", "off": "خاموش", "error": "خطا", "offline": "در دسترس نیست",
                     "out_of_paper": "کاغذ تمام شده", "paper_low": "کاغذ رو به پایان", "cover_open": "درب باز است",
                     "unknown": "نامعلوم"}
#: What a refused document was (a document_refused alert's ``kind``).
DOCUMENT_KINDS = {"board": "تابلوی تعرفه", "schedule": "برنامهٔ ساعات کاری", "holidays": "فهرست تعطیلات",
                  "trust": "فهرست کلیدهای مورد اعتماد", "settings": "تنظیمات", "release": "بستهٔ به‌روزرسانی"}
#: The judge's reasons for a minute's state (pishkhan.compliance.timeline), whole or by their first word.
WHY = {
    "device down or clock not trustworthy": "دستگاه خاموش بود یا ساعتش قابل اعتماد نبود",
    "kiosk has not reported in this boot": "کیوسک از روشن‌شدن دستگاه گزارشی نداده",
    "no counter open": "هیچ باجه‌ای باز نبود",
    "display shows no verified board": "نمایشگر تابلوی تأییدشده نشان نمی‌داد",
    "kiosk": "کیوسک نوبت نمی‌داد",
}
WHY_SUBJECT = {"kiosk": "کیوسک نوبت نمی‌داد", "printer": "چاپگر از کار افتاده بود", "display": "نمایشگر خاموش بود"}
WHY_OTHER = "دلیل دیگر (در جزئیات فنی)"
#: Why a device is offline (a status reason), for the office page.
STATUS_REASONS = {"lost": "قطع ناگهانی", "stopped": "خاموش‌شدن عادی", "silent": "پیامی از آن نمی‌رسد"}
#: The centre's verdicts' detail (central.verification).
VERDICT_MINUTES = "{n} دقیقه"
VERDICT_SERVED_OFFLINE = "{n} دقیقه خدمت در زمان قطع"
OTHER_EVENT = "رویداد دیگر"

#: How fresh the fleet's figures are (central.freshness), under the fleet page's heading.
FRESH_LAST = "آخرین پیام از دفاتر: {when} ({ago})"
FRESH_NEVER = "هنوز پیامی از دفاتر نرسیده است."
FRESH_AGO = "{minutes} دقیقه پیش"
FRESH_JUST_NOW = "کمتر از یک دقیقه پیش"
STALE = {
    "no_monitor": "این ارقام به‌روز نیست: هیچ ناظر ناوگان در حال کار نیست و پیام تازه‌ای ثبت نمی‌شود؛ "
                  "شمارش‌ها وضع دفاتر در آخرین پیامشان است.",
    "fleet_silent": "این ارقام به‌روز نیست: بیش از {minutes} دقیقه است که هیچ پیامی از هیچ دفتری نرسیده است "
                    "(کارگزار پیام یا شبکه را بررسی کنید)؛ شمارش‌ها وضع دفاتر در آخرین پیامشان است.",
}
STALE_EN = {"no_monitor": "no monitor heartbeat", "fleet_silent": "no device message"}

#: The office page: when the device booted (its birth's booted_at), and its uptime while online.
COL_BOOTED = "روشن شدن دستگاه"
UPTIME = "{days} روز و {hours} ساعت روشن"

#: History, rankings and exports over a period (central.history, central/web/history.py).
HISTORY = "روند ساعات کاری"
RANKING = "رتبه‌بندی دفاتر"
FROM_DATE = "از تاریخ (مثلاً ۱۴۰۵/۰۸/۰۱)"
TO_DATE = "تا تاریخ"
XLSX = "دریافت اکسل (xlsx)"
EXPORT_CSV = "دریافت CSV دفاتر"
HISTORY_OF_OFFICE = "روند دفتر {office}"
HISTORY_OF_NAMED = "روند {office}"  # a name that says «دفتر …» already
OFFICE_PAGE = "صفحهٔ دفتر"  # from an office's history; each of its days opens that day's timeline
HISTORY_BASIS = ("این ارقام از گزارش‌های روزانه‌ای است که دفاتر فرستاده‌اند؛ روزی که هیچ دفتری گزارش نداده "
                 "«گزارش نداده» است، نه صفر. سهم باز بودن = (دقایق خدمت + خدمت با نقص) ÷ دقایق برنامه.")
OPEN_SHARE = "سهم باز بودن"
PERCENT = "{n}٪"
THIS_PERIOD = "این دوره"
PREVIOUS_PERIOD = "دورهٔ پیش ({start} تا {end})"
CHANGE = "تغییر"
DAYS_REPORTED = "روزهای دارای گزارش: {n} از {days}"
NO_REPORT_DAYS = "روزهای بدون گزارش: {days}"
BY_DAY = "روز به روز"
BY_WEEK = "هفته به هفته"
WEEK_OF = "{start} تا {end}"
COL_DAY = "روز"
COL_REPORTING = "دفاتر گزارش‌داده"
HISTORY_FIGURES = {"closed_minutes": "دقایق بسته", "unknown_minutes": "دقایق نامعلوم", "late_openings": "دیر باز شدن",
                   "late_opening_minutes": "دقایق دیرکرد", "early_closings": "زود بستن",
                   "printer_out_minutes": "دقایق خرابی چاپگر", "display_off_minutes": "دقایق خاموشی نمایشگر",
                   "days_not_reported": "روزهای بدون گزارش"}
RANK_BY = "ترتیب بر پایهٔ"
NO_RANKING = "در این دوره هیچ دفتری در این مورد ثبت نشده است."
BAD_PERIOD = {"reversed": "پایان دوره پیش از آغاز آن است. The period ends before it starts.",
              "too_long": "دوره حداکثر ۳۶۶ روز است. At most 366 days.",
              "rank_by": "این ترتیب شناخته نیست. Unknown ranking.",
              "header": "سرستون فقط fa یا en است. The header is fa or en."}
THIS_MONTH = "این ماه تا امروز"
NO_HOURS = "بی‌ساعت کاری (تعطیل)"
NOT_REPORTED_MEANS = ("«روز بدون گزارش» روزی است که از دفتر هیچ گزارشی نرسیده است. روز تعطیل (بی‌ساعت کاری) که "
                      "دستگاه روشن بوده و گزارشش را فرستاده روزِ دارای گزارش است، نه بدون گزارش؛ اما اگر دستگاه در "
                      "روز تعطیل خاموش بوده، گزارشی نیامده و آن روز این‌جا «بدون گزارش» شمرده می‌شود.")
MONTH_VS_LAST = "این ماه در برابر ماه پیش"
SAME_DAYS_LAST_MONTH = "همان روزهای ماه پیش ({start} تا {end})"
AGAINST_MONTH = ("این دوره در برابر همان روزهای ماه پیش ({start} تا {end}) سنجیده شده است: از روز اول ماه، "
                 "به همان شمار روز.")
AGAINST_PERIOD = "این دوره در برابر دورهٔ هم‌اندازهٔ پیش از آن ({start} تا {end}) سنجیده شده است."
INCLUDES_TODAY = ("امروز هم در این دوره است و هنوز تمام نشده: گزارش ناتمام امروز تا ساعتی که داوری شده شمرده "
                  "می‌شود.")
EXCLUDES_TODAY = "امروز که هنوز تمام نشده در این دوره نیست (تا پایان دیروز)."
BAD_AGAINST = "سنجش فقط با دورهٔ پیش (period) یا ماه پیش (month) است. ?against= is period or month."
LAST_MONTH = "ماه پیش"
#: The device list (/devices): search, filters, sort and pages (central/device_list.py).
LIST_SEARCH = "جستجو (شناسه یا نام دفتر، شناسه دستگاه)"
LIST_STATUS = "وضعیت اتصال"
LIST_BOARD = "تابلو"
LIST_VERSION = "نسخه عامل"
LIST_DAY = "امروز"
LIST_SORT = "مرتب‌سازی"
LIST_DESC = "نزولی"
LIST_SORTS = {"office": "نام دفتر", "office_id": "شناسه دفتر", "province": "استان", "device": "شناسه دستگاه",
              "status": "وضعیت اتصال", "last_seen": "آخرین پیام", "version": "نسخه عامل"}
LIST_FOUND = "{n} دستگاه — صفحه {page} از {pages}"
LIST_PREV = "صفحه قبل"
LIST_NEXT = "صفحه بعد"
#: The fleet page's count of offices whose board is unknown (none reported, or unreadable).
COUNT_BOARD_UNKNOWN = "تابلوی نامعلوم"
COUNT_BOARD_UNKNOWN_HELP = "دفاتری که تابلویی گزارش نکرده‌اند یا تابلویشان خوانا نیست"
#: Remote actions on the office page (a national user's only; central/remote.py).
ACTIONS_HEADING = "فرمان از راه دور"
ACTIONS_HELP = "هر فرمان امضاشده به دستگاه دفتر فرستاده و با نام درخواست‌کننده و نتیجه‌اش ثبت می‌شود."
ACTION_NAMES = {"ping": "بررسی اتصال", "snapshot": "دریافت تصویر تابلو", "resend_report": "ارسال دوباره گزارش امروز"}
ACTIONS_COL_ACTION = "فرمان"
ACTIONS_COL_BY = "درخواست‌کننده"
ACTIONS_COL_OUTCOME = "نتیجه"
ACTION_OUTCOMES = {"pending": "در انتظار پاسخ", "ok": "انجام شد", "refused": "دستگاه نپذیرفت",
                   "no_answer": "پاسخی نیامد", "not_sent": "فرستاده نشد"}
ACTIONS_NOT_CONFIGURED = "داشبورد برای فرستادن فرمان پیکربندی نشده است؛ درخواست ثبت شد ولی فرستاده نشد."
