"""Every sentence ``pishkhan provision check`` says, in Persian and English, in one place.

:data:`TITLES` names each check; :data:`MESSAGES` gives, for each reason a
check can end with, what is wrong and the fix, each in Persian and English.
Fields in braces are filled from the result's ``detail``.
"""

from __future__ import annotations

#: check name → (Persian title, English title)
TITLES = {
    "shaping": ("شکل‌دهی متن فارسی (raqm و fribidi)", "Persian text shaping (raqm and fribidi)"),
    "fonts": ("قلم وزیرمتن", "Vazirmatn font"),
    "groups": ("گروه‌های کاربر سرویس", "service user's groups"),
    "printer": ("چاپگر نوبت", "ticket printer"),
    "kiosk_screen": ("صفحهٔ لمسی (کیوسک)", "touchscreen (kiosk)"),
    "display_screen": ("تلویزیون دیواری", "wall TV (display)"),
    "clock": ("همگام بودن ساعت", "clock synchronisation"),
    "enrolment": ("ثبت دستگاه و گواهی آن", "enrolment and certificate"),
    "broker": ("دسترسی به کارگزار MQTT مرکز (TLS)", "centre's MQTT broker over TLS"),
    "disk": ("فضای خالی دیسک", "free disk space"),
    "sd_card": ("سلامت کارت حافظه", "SD card health"),
    "power": ("ولتاژ تغذیه", "power supply voltage"),
}

#: reason → (message fa, message en, fix fa, fix en)
MESSAGES = {
    "ok": ("درست است", "OK", "", ""),
    "not_measured": ("این دستگاه آن را نمی‌سنجد ({why})", "not measured on this machine ({why})", "", ""),
    "check_crashed": ("این بررسی انجام نشد: {error}", "this check could not run: {error}",
                      "خروجی را برای پشتیبانی بفرستید", "send this output to support"),

    "raqm_missing": ("کتابخانهٔ libraqm نیست: متن فارسی درهم چاپ می‌شود",
                     "libraqm is missing: Persian text would be drawn broken",
                     "sudo apt install libraqm0 libfribidi0", "sudo apt install libraqm0 libfribidi0"),
    "fribidi_missing": ("کتابخانهٔ libfribidi نیست: متن فارسی درهم چاپ می‌شود",
                        "libfribidi is missing: Persian text would be drawn broken",
                        "sudo apt install libfribidi0", "sudo apt install libfribidi0"),
    "font_missing": ("قلم وزیرمتن نصب نیست", "the Vazirmatn font is not installed",
                     "sudo apt install fonts-vazirmatn", "sudo apt install fonts-vazirmatn"),

    "service_user_missing": ("کاربر سرویس «{user}» وجود ندارد: بستهٔ پیشخوان نصب نشده است",
                             "the service user '{user}' does not exist: the pishkhan package is not installed",
                             "sudo apt install ./pishkhan_VERSION_arm64.deb", "sudo apt install ./pishkhan_VERSION_arm64.deb"),
    "groups_missing": ("کاربر «{user}» عضو این گروه‌ها نیست: {missing}",
                       "the user '{user}' is not in these groups: {missing}",
                       "sudo usermod -aG {missing_comma} {user}؛ سپس دستگاه را دوباره راه‌اندازی کنید",
                       "sudo usermod -aG {missing_comma} {user}, then reboot"),

    "printer_not_configured": ("چاپگر واقعی تنظیم نشده است (printer.uri = {uri})",
                               "no real printer is configured (printer.uri = {uri})",
                               "در /etc/pishkhan/pishkhan.toml بنویسید: printer.uri = \"lp:/dev/pishkhan-printer\"",
                               "set printer.uri = \"lp:/dev/pishkhan-printer\" in /etc/pishkhan/pishkhan.toml"),
    "printer_bad_uri": ("نشانی چاپگر نادرست است: {error}", "the printer URI is wrong: {error}",
                        "printer.uri را در /etc/pishkhan/pishkhan.toml درست کنید",
                        "correct printer.uri in /etc/pishkhan/pishkhan.toml"),
    "printer_unreachable": ("چاپگر ({uri}) پاسخ نمی‌دهد", "the printer ({uri}) does not answer",
                            "کابل USB و برق چاپگر را وصل و چاپگر را روشن کنید؛ سپس دوباره بررسی کنید",
                            "plug in the printer's USB cable and power, switch it on, then check again"),
    "printer_paper_out": ("کاغذ چاپگر تمام شده است", "the printer is out of paper",
                          "رول کاغذ تازه بگذارید", "load a new paper roll"),
    "printer_cover_open": ("درِ چاپگر باز است", "the printer's cover is open",
                           "درِ چاپگر را ببندید", "close the printer's cover"),
    "printer_paper_near_end": ("کاغذ چاپگر رو به پایان است", "the printer's paper is nearly out",
                               "رول کاغذ یدکی آماده کنید", "have a spare paper roll ready"),
    "printer_status_unknown": ("در دسترس است؛ وضعیت کاغذ و درِ خود را گزارش نمی‌کند",
                               "reachable; it does not report its paper and cover state", "", ""),

    "drm_unavailable": ("گرافیک دستگاه (DRM/KMS) در دسترس نیست", "the graphics driver (DRM/KMS) is not available",
                        "در /boot/firmware/config.txt خط dtoverlay=vc4-kms-v3d باشد؛ سپس راه‌اندازی دوباره",
                        "make sure /boot/firmware/config.txt has dtoverlay=vc4-kms-v3d, then reboot"),
    "no_screen": ("هیچ صفحه‌ای وصل یا تنظیم نشده است", "no screen is connected or configured",
                  "صفحهٔ لمسی را به درگاه DSI یا HDMI وصل کنید، [kiosk] output را بنویسید و دوباره راه‌اندازی کنید",
                  "connect the touchscreen to the DSI or an HDMI port, set [kiosk] output, and reboot"),
    "screen_missing": ("خروجی «{output}» روی این دستگاه نیست (هست: {present})",
                       "the output '{output}' does not exist on this device (present: {present})",
                       "نام خروجی را در [{section}] output از میان موجودها بنویسید",
                       "set [{section}] output to one of the present outputs"),
    "screen_disconnected": ("صفحهٔ خروجی «{output}» وصل نیست یا خاموش است",
                            "the screen on output '{output}' is not connected or is off",
                            "کابل و برق صفحه را بررسی کنید و دستگاه را دوباره راه‌اندازی کنید",
                            "check the screen's cable and power, then reboot"),
    "screen_not_configured": ("خروجی این صفحه تنظیم نشده است ([{section}] output خالی است)؛ دفتر بدون آن کار می‌کند",
                              "no output is named for this screen ([{section}] output is empty); the office works "
                              "without it",
                              "اگر دفتر این صفحه را دارد، [{section}] output را بنویسید (مثلاً {example})",
                              "if the office has this screen, set [{section}] output (e.g. {example})"),
    "same_output": ("کیوسک و تلویزیون هر دو روی خروجی «{output}» تنظیم شده‌اند",
                    "the kiosk and the TV are both set to output '{output}'",
                    "[kiosk] output و [display] output باید دو خروجی جدا باشند",
                    "[kiosk] output and [display] output must name two different outputs"),

    "clock_not_synced": ("ساعت دستگاه همگام نیست؛ گزارش ساعت کاری داوری نمی‌شود",
                         "the clock is not synchronised; working hours cannot be judged",
                         "شبکه را وصل کنید و sudo timedatectl set-ntp true را اجرا کنید",
                         "connect the network and run sudo timedatectl set-ntp true"),
    "clock_unknown": ("معلوم نیست ساعت همگام است", "whether the clock is synchronised is unknown",
                      "timedatectl status را ببینید", "look at timedatectl status"),

    "not_enrolled": ("دستگاه ثبت نشده است", "the device is not enrolled",
                     "فایل pishkhan-claim.txt را روی پارتیشن boot بگذارید و دوباره راه‌اندازی کنید، یا: "
                     "sudo pishkhan provision enroll --server URL --claim CODE",
                     "drop pishkhan-claim.txt on the boot partition and reboot, or run "
                     "sudo pishkhan provision enroll --server URL --claim CODE"),
    "certificate_missing": ("فایل گواهی «{path}» خوانده نمی‌شود", "the certificate file '{path}' cannot be read",
                            "با کد ثبت تازه دوباره ثبت کنید", "enrol again with a new claim code"),
    "key_missing": ("فایل کلید «{path}» خوانده نمی‌شود", "the key file '{path}' cannot be read",
                    "با sudo اجرا کنید؛ اگر باز هم نبود، با کد ثبت تازه دوباره ثبت کنید",
                    "run with sudo; if it is still missing, enrol again with a new claim code"),
    "certificate_unreadable": ("گواهی «{path}» معتبر نیست: {error}", "the certificate '{path}' is not valid: {error}",
                               "با کد ثبت تازه دوباره ثبت کنید", "enrol again with a new claim code"),
    "key_mismatch": ("کلید دستگاه با گواهی آن نمی‌خواند", "the device's key does not match its certificate",
                     "با کد ثبت تازه دوباره ثبت کنید", "enrol again with a new claim code"),
    "certificate_not_yet_valid": ("گواهی هنوز معتبر نشده است (از {not_before}): ساعت دستگاه عقب است",
                                  "the certificate is not valid yet (from {not_before}): the clock is behind",
                                  "ساعت را همگام کنید (sudo timedatectl set-ntp true)",
                                  "synchronise the clock (sudo timedatectl set-ntp true)"),
    "certificate_expired": ("گواهی دستگاه در {not_after} منقضی شده است", "the device certificate expired on {not_after}",
                            "از مرکز کد ثبت تازه بگیرید و دوباره ثبت کنید",
                            "get a new claim code from the centre and enrol again"),
    "certificate_expiring": ("گواهی دستگاه {days_left} روز دیگر منقضی می‌شود", "the device certificate expires in {days_left} days",
                             "عامل ارتباطی گواهی را از ۳۰ روز پیش از انقضا خودکار تمدید می‌کند و هنوز نکرده است: "
                             "شبکه را وصل کنید؛ اگر بررسی کارگزار درست است، به کارگروه استانی خبر دهید",
                             "the agent renews it from 30 days before expiry and has not yet: connect the network; "
                             "if the broker check passes, call the provincial working group"),

    "mqtt_disabled": ("ارتباط با مرکز خاموش است (mqtt.enabled = false)", "the link to the centre is off (mqtt.enabled = false)",
                      "در /etc/pishkhan/pishkhan.toml بنویسید: mqtt.enabled = true",
                      "set mqtt.enabled = true in /etc/pishkhan/pishkhan.toml"),
    "broker_not_tls": ("کارگزار بدون TLS تنظیم شده است ({host}:{port})", "the broker is configured without TLS ({host}:{port})",
                       "دستگاه را ثبت کنید تا نشانی mqtts:// نوشته شود", "enrol the device: it writes the mqtts:// URL"),
    "broker_unreachable": ("کارگزار مرکز در دسترس نیست: {error}", "the centre's broker cannot be reached: {error}",
                           "شبکه را بررسی کنید؛ دفتر بدون شبکه هم کار می‌کند و گزارش‌ها بعداً فرستاده می‌شوند",
                           "check the network; the office works offline and reports are sent later"),
    "broker_tls_refused": ("دست‌دهی TLS با کارگزار پذیرفته نشد: {error}", "the TLS handshake with the broker failed: {error}",
                           "ساعت را همگام کنید؛ اگر درست بود، با کد ثبت تازه دوباره ثبت کنید",
                           "synchronise the clock; if it is right, enrol again with a new claim code"),
    "broker_certificate_revoked": ("کارگزار گواهی این دستگاه را باطل‌شده می‌داند: مرکز دستگاه را باطل کرده است ({error})",
                                   "the broker says this device's certificate is revoked: the centre revoked the "
                                   "device ({error})",
                                   "به کارگروه استانی زنگ بزنید، کد ثبت تازه بگیرید و دستگاه را دوباره ثبت کنید "
                                   "(docs/operations.md)",
                                   "call the provincial working group for a new claim code and enrol the device "
                                   "again (docs/operations.md)"),
    "broker_ca_unreadable": ("گواهی مرکز یا کلید دستگاه خوانده نمی‌شود: {error}",
                             "the centre's CA or the device key cannot be read: {error}",
                             "با sudo اجرا کنید؛ اگر باز هم نشد، دوباره ثبت کنید",
                             "run with sudo; if it still fails, enrol again"),

    "disk_full": ("دیسک پر است: {free_mb} مگابایت آزاد", "the disk is full: {free_mb} MB free",
                  "sudo journalctl --vacuum-size=50M و پاک کردن فایل‌های اضافی؛ یا کارت بزرگ‌تر",
                  "sudo journalctl --vacuum-size=50M and remove stray files, or use a larger card"),
    "disk_low": ("فضای دیسک کم است: {free_mb} مگابایت آزاد", "disk space is low: {free_mb} MB free",
                 "sudo journalctl --vacuum-size=50M", "sudo journalctl --vacuum-size=50M"),

    "sd_errors": ("هسته خطای کارت حافظه گزارش کرده است ({count} بار): {example}",
                  "the kernel reported SD card errors ({count} times): {example}",
                  "کارت حافظه رو به خرابی است: کارت تازه بنویسید و دستگاه را دوباره ثبت کنید",
                  "the card is failing: flash a new card and enrol it again"),
    "fs_errors": ("سیستم فایل {count} خطا ثبت کرده است", "the file system has recorded {count} errors",
                  "کارت حافظه رو به خرابی است: کارت تازه بنویسید و دستگاه را دوباره ثبت کنید",
                  "the card is failing: flash a new card and enrol it again"),
    "kernel_log_unreadable": ("پیام‌های هسته خوانده نشد", "the kernel log could not be read",
                              "با sudo اجرا کنید", "run with sudo"),

    "under_voltage": ("ولتاژ تغذیه هم‌اکنون کم است", "the supply voltage is low right now",
                      "آداپتور رسمی ۵ ولت ۳ آمپر (Pi 4) یا ۵ آمپر (Pi 5) بگذارید",
                      "use the official 5 V 3 A (Pi 4) or 5 A (Pi 5) power supply"),
    "under_voltage_occurred": ("از آخرین راه‌اندازی ولتاژ تغذیه کم شده است",
                               "the supply voltage has dropped since boot",
                               "آداپتور و کابل برق را با نمونهٔ رسمی عوض کنید",
                               "replace the power supply and cable with the official ones"),
}


#: The last line: whether the office can open.
VERDICT = {True: "دفتر می‌تواند باز شود | the office can open",
           False: "دفتر نمی‌تواند باز شود | the office cannot open"}
#: The first line: which configuration was checked.
CONFIGURATION = "پیکربندی | configuration: {path}"
BUILT_IN = "built-in defaults"
#: Between a failure and its fix.
FIX = " — راه‌حل: {fix_fa} | fix: {fix_en}"


class _Blank(dict):
    """Format fields a detail lacks stay visible as ``{name}`` instead of failing."""

    def __missing__(self, key):
        return "{" + key + "}"


def fill(template: str, detail: dict) -> str:
    return template.format_map(_Blank({k: v for k, v in detail.items()}))
