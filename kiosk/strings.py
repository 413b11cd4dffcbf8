"""Every word the kiosk shows, in Persian and English, in one place.

:func:`t` looks a key up for a language and fills ``{placeholders}``;
numbers passed in are written with Persian digits in Persian text. A
Persian reader can review this file alone.
"""

from __future__ import annotations

from pishkhan.text.persian import to_persian_digits

LANGUAGES = ("fa", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # -- every screen -------------------------------------------------------
    "home": ("خانه", "Home"),
    "back": ("بازگشت", "Back"),
    "language": ("English", "فارسی"),
    "text_size": ("اندازه متن", "Text size"),
    "next_page": ("بعدی", "Next"),
    "prev_page": ("قبلی", "Previous"),
    "page_of": ("صفحه {n} از {total}", "Page {n} of {total}"),
    # -- attract -------------------------------------------------------------
    "touch_to_start": ("برای گرفتن نوبت لمس کنید", "Touch here to take a ticket"),
    "touch_to_see": ("برای دیدن خدمات و تعرفه‌ها لمس کنید", "Touch here to see services and fees"),
    "hours_today": ("ساعات کاری امروز: {hours}", "Today's hours: {hours}"),
    "people_waiting": ("{n} نفر در انتظار", "{n} people waiting"),
    "people_waiting:0": ("کسی در انتظار نیست", "Nobody waiting"),
    "people_waiting:1": ("{n} نفر در انتظار", "1 person waiting"),
    "not_accepting": ("نوبت‌دهی متوقف است", "Not issuing tickets now"),
    "notices": ("اطلاعیه", "Notice"),
    "board_page": ("تعرفه خدمات: {category}", "Fees: {category}"),
    # -- browse --------------------------------------------------------------
    "choose_service": ("خدمت مورد نظر را انتخاب کنید", "Choose a service"),
    "categories": ("گروه خدمات", "Service groups"),
    "search": ("جستجو", "Search"),
    "more_categories": ("گروه‌های دیگر ({n} از {total})", "More groups ({n} of {total})"),
    "total_fee": ("هزینه کل: {amount}", "Total fee: {amount}"),
    "wait_short": ("انتظار حدود {minutes} دقیقه", "About {minutes} min wait"),
    "wait_none": ("بدون انتظار", "No wait"),
    "wait_under_minute": ("انتظار کمتر از یک دقیقه", "Under a minute's wait"),
    "unavailable": ("فعلاً ارائه نمی‌شود: {reason}", "Not available now: {reason}"),
    # -- service detail ------------------------------------------------------
    "service_detail": ("جزئیات خدمت", "Service details"),
    "government_fee": ("هزینه دولتی", "Government fee"),
    "office_fee": ("کارمزد دفتر", "Office fee"),
    "total": ("جمع کل", "Total"),
    "documents": ("مدارک لازم", "Documents to bring"),
    "no_documents": ("مدرک خاصی لازم نیست", "No documents needed"),
    "people_ahead": ("{n} نفر جلوتر از شما", "{n} people ahead of you"),
    "people_ahead:0": ("کسی جلوتر از شما نیست", "Nobody ahead of you"),
    "people_ahead:1": ("{n} نفر جلوتر از شما", "1 person ahead of you"),
    "estimated_wait": ("زمان انتظار حدود {minutes} دقیقه", "Estimated wait about {minutes} minutes"),
    "take_ticket": ("دریافت نوبت", "Take a ticket"),
    "priority_mark": ("نوبت ویژه", "Priority ticket"),
    "priority_ticket": ("نوبت ویژه (سالمندان، معلولان، جانبازان)",
                        "Priority ticket (elderly, disabled, veterans)"),
    # -- search --------------------------------------------------------------
    "search_hint": ("نام خدمت را بنویسید", "Type the name of a service"),
    "no_results": ("خدمتی پیدا نشد", "No service found"),
    "results": ("{n} نتیجه", "{n} results"),
    "space": ("فاصله", "space"),
    "delete": ("حذف", "Delete"),
    "clear": ("پاک کردن همه", "Clear"),
    "digits_layout": ("۱۲۳", "123"),
    "letters_fa": ("الفبا", "فا"),
    "letters_en": ("ABC", "ABC"),
    # -- ticket --------------------------------------------------------------
    "your_number": ("شماره نوبت شما", "Your number"),
    "printing": ("در حال چاپ نوبت…", "Printing your ticket…"),
    "printed": ("نوبت شما چاپ شد. لطفاً برگه را بردارید.", "Your ticket is printed. Please take it."),
    "print_failed": ("لطفاً شماره خود را یادداشت کنید", "Please note your number"),
    "print_failed_why": ("چاپگر کار نمی‌کند؛ نوبت شما ثبت شده است.",
                         "The printer is not working; your ticket is registered."),
    "done": ("پایان", "Done"),
    # -- customer respect: complaints and ratings (kiosk.screens.rating) ------
    "complaints": ("پیشنهاد و شکایت: {channel}", "Suggestions and complaints: {channel}"),
    "complaints_phone": ("تلفن {phone}", "phone {phone}"),
    "complaints_short_code": ("پیامک {code}", "text {code}"),
    "rate_offer": ("به خدمت امروز امتیاز دهید", "Rate today's service"),
    "rate_title": ("امتیاز به خدمت امروز", "Rate today's service"),
    "rate_enter_number": ("شماره نوبت خود را از روی برگه وارد کنید", "Type the number on your ticket"),
    "rate_choose": ("خدمت نوبت {label} را چگونه دیدید؟", "How was the service for ticket {label}?"),
    "score_1": ("خیلی ضعیف", "Very poor"),
    "score_2": ("ضعیف", "Poor"),
    "score_3": ("متوسط", "Fair"),
    "score_4": ("خوب", "Good"),
    "score_5": ("عالی", "Excellent"),
    "rate_thanks": ("سپاس از شما؛ امتیاز شما ثبت شد.", "Thank you; your rating is saved."),
    "rate_already_rated": ("برای این نوبت امروز پیش‌تر امتیاز داده شده است. سپاس از همراهی شما.",
                           "This ticket was rated already today. Thank you for your help."),
    "rate_not_served": ("خدمت این نوبت هنوز به پایان نرسیده است؛ پس از پایان کار در باجه خوشحال می‌شویم امتیاز دهید.",
                        "This ticket has not been served yet; we would be glad of your rating after the counter."),
    "rate_unknown_ticket": ("این شماره در نوبت‌های امروز نیست؛ لطفاً شماره روی برگه را دوباره وارد کنید.",
                            "That number is not among today's tickets; please type the number on your ticket again."),
    "rate_invalid": ("لطفاً یکی از گزینه‌ها را انتخاب کنید.", "Please choose one of the answers."),
    "rate_failed": ("پوزش می‌خواهیم؛ امتیاز اکنون ثبت نشد.", "Sorry; the rating could not be saved now."),
    # -- closed ---------------------------------------------------------------
    "closed_title": ("در حال حاضر نوبت داده نمی‌شود", "No tickets can be issued now"),
    "closed_closed": ("دفتر اکنون بسته است.", "The office is closed now."),
    "closed_cutoff": ("نوبت‌دهی امروز به پایان رسیده؛ نوبت جدید پیش از پایان ساعت کاری نمی‌رسد.",
                      "Tickets for today have ended: a new ticket would not be served before closing."),
    "closed_no_counter": ("هیچ باجه‌ای باز نیست.", "No counter is open."),
    "closed_unavailable": ("این خدمت فعلاً ارائه نمی‌شود.", "This service is not available now."),
    "see_services": ("دیدن خدمات و تعرفه‌ها", "See services and fees"),
    "next_open": ("نوبت‌دهی دوباره: {when}", "Tickets again from: {when}"),
    "next_open_unknown": ("زمان بازگشایی اعلام نشده است.", "The next opening has not been announced."),
    # -- out of service ------------------------------------------------------
    "out_title": ("این دستگاه موقتاً از کار افتاده است", "This kiosk is out of service"),
    "out_help": ("لطفاً به کارمندان دفتر اطلاع دهید.", "Please tell a member of staff."),
    "device_id": ("شناسه دستگاه برای تماس با پشتیبانی:", "Device id for the help line:"),
    "retry": ("تلاش دوباره", "Try again"),
    # -- staff: PIN ----------------------------------------------------------
    "staff_pin": ("رمز کارمند را وارد کنید", "Enter the staff PIN"),
    "pin_wrong": ("رمز نادرست است؛ {n} بار دیگر می‌توانید امتحان کنید.", "Wrong PIN; {n} tries left."),
    "pin_locked": ("ورود کارمند تا {minutes} دقیقه دیگر بسته است.", "Staff mode is locked for {minutes} more minutes."),
    "pin_default_note": ("رمز پیش‌فرض کارخانه هنوز عوض نشده است؛ آن را روی دستگاه عوض کنید.",
                         "The factory default PIN has not been changed; change it on the device."),
    "pin_damaged": ("تنظیم رمز کارمند خراب است و هیچ رمزی پذیرفته نمی‌شود؛ رمز را روی دستگاه دوباره بگذارید.",
                    "The staff PIN setting is damaged and no PIN can match it; set the PIN again on the device."),
    "pin_default_warning": ("هشدار: رمز کارمند هنوز رمز پیش‌فرض ۱۲۳۴ است و هر کسی می‌تواند وارد شود. "
                            "رمز تازه را روی دستگاه بگذارید:\npishkhan kiosk set-pin",
                            "Warning: the staff PIN is still the default 1234, so anyone can get in. "
                            "Set a new one on the device:\npishkhan kiosk set-pin"),
    "pin_default_short": ("هشدار: رمز پیش‌فرض ۱۲۳۴ هنوز در کار است!", "Warning: the default PIN 1234 is still in use!"),
    "ok": ("تأیید", "OK"),
    "cancel": ("انصراف", "Cancel"),
    "cancel_ticket": ("لغو نوبت", "Cancel ticket"),
    # -- staff: menu ---------------------------------------------------------
    "staff_title": ("حالت کارمند", "Staff mode"),
    "staff_counters": ("باز و بسته کردن باجه‌ها", "Open / close counters"),
    "staff_services": ("خدمات ناموجود", "Unavailable services"),
    "staff_notices": ("اطلاعیه‌ها", "Notices"),
    "staff_queue": ("مدیریت صف", "Queue admin"),
    "staff_reprint": ("چاپ دوباره آخرین نوبت", "Reprint last ticket"),
    "staff_usb": ("نصب تابلو از حافظه USB", "Install board from USB"),
    "staff_info": ("اطلاعات دستگاه", "Device info"),
    "staff_exit": ("خروج از حالت کارمند", "Leave staff mode"),
    # -- staff: actions -------------------------------------------------------
    "counter_n": ("باجه {n}", "Counter {n}"),
    "is_open": ("باز", "open"),
    "is_closed": ("بسته", "closed"),
    "open": ("باز کن", "Open"),
    "close": ("ببند", "Close"),
    "mark_unavailable": ("ناموجود کن", "Mark unavailable"),
    "mark_available": ("موجود کن", "Mark available"),
    "reason_title": ("دلیل ناموجود بودن خدمت", "Why a service is unavailable"),
    "reason_prompt": ("دلیل ناموجود بودن «{service}»", "Why «{service}» is unavailable"),
    "reason_presets": ("سامانه قطع است|موقتاً ارائه نمی‌شود|کارشناس حضور ندارد",
                       "System down|Temporarily not offered|Specialist absent"),
    "new_notice": ("اطلاعیه جدید", "New notice"),
    "post": ("ثبت", "Post"),
    "remove": ("حذف", "Remove"),
    "no_notices": ("اطلاعیه‌ای نیست.", "No notices."),
    "recall": ("فراخوانی دوباره", "Recall"),
    "transfer_to": ("انتقال به {lane}", "Transfer to {lane}"),
    "end_of_day": ("پایان روز کاری", "End of day"),
    "end_of_day_confirm": ("بله، روز کاری تمام شود", "Yes, end the day"),
    "confirm_end_of_day": ("تأیید پایان روز: همه نوبت‌های منتظر لغو می‌شوند", "Confirm end of day: every waiting ticket is cancelled"),
    "waiting_tickets": ("نوبت‌های منتظر: {n}", "Waiting tickets: {n}"),
    "no_tickets": ("نوبتی در صف نیست.", "No tickets waiting."),
    "done_ok": ("انجام شد.", "Done."),
    "failed": ("انجام نشد: {reason}", "Failed: {reason}"),
    "no_last_ticket": ("هنوز نوبتی صادر نشده است.", "No ticket has been issued yet."),
    "reprinted": ("نوبت {label} دوباره چاپ شد.", "Ticket {label} reprinted."),
    "usb_none": ("در حافظه USB ({mount}) فایل تابلویی پیدا نشد.", "No board file found on the USB stick ({mount})."),
    "usb_pick": ("فایل تابلو را انتخاب کنید", "Choose a board file"),
    "usb_installed": ("تابلو نسخه {version} نصب شد. کد تأیید: {code}", "Board version {version} installed. Verification code: {code}"),
    "usb_refused": ("تابلو نصب نشد؛ تابلوی قبلی باقی ماند. دلیل: {reason}", "Board refused; the old board stays. Reason: {reason}"),
    "refused_signature": ("امضای تابلو معتبر نیست یا کلید آن مورد اعتماد نیست", "the signature is wrong or its key is not trusted"),
    "refused_version": ("نسخه این تابلو از نسخه نصب‌شده جدیدتر نیست", "it is not newer than the installed board"),
    "refused_invalid": ("فایل تابلو معتبر نیست", "the board file is invalid"),
    "refused_scope": ("این تابلو برای این دفتر یا استان نیست", "it is for another office or province"),
    "refused_file": ("فایل از حافظه USB خوانده نشد (فقط فایل‌های معمولی خود حافظه خوانده می‌شوند)",
                     "the file could not be read from the stick (only regular files on the stick are read)"),
    "refused_disk": ("حافظهٔ دستگاه پر است؛ جا باز کنید و دوباره امتحان کنید",
                     "the device's disk is full; free some space and try again"),
    "refused_error": ("خطای پیش‌بینی‌نشده‌ای رخ داد", "an unexpected error occurred"),
    "usb_missing": ("حافظه USB پیدا نشد: پوشه {mount} وجود ندارد. حافظه را وصل کنید و دوباره امتحان کنید.",
                    "No USB stick found: the folder {mount} does not exist. Plug the stick in and try again."),
    "usb_unreadable": ("حافظه USB خوانده نشد؛ آن را جدا کنید، دوباره وصل کنید و دوباره امتحان کنید.",
                       "The USB stick could not be read; unplug it, plug it in again and retry."),
    "usb_slow": ("حافظه USB در {seconds} ثانیه پاسخ نداد؛ شاید خراب باشد. حافظه دیگری را امتحان کنید.",
                 "The USB stick did not answer within {seconds} seconds; it may be faulty. Try another stick."),
    "usb_truncated": ("حافظه بیش از حد پرونده دارد؛ فقط بخشی از آن بررسی شد.",
                      "The stick holds too many entries; only part of it was looked at."),
    "usb_skipped": ("{n} مورد که فایل معمولی روی حافظه نبود (پیوند، دستگاه و مانند آن) کنار گذاشته شد.",
                    "{n} entries that were not regular files on the stick (links, devices …) were left out."),
    "info_unprinted": ("نوبت‌های چاپ‌نشده امروز", "Unprinted tickets today"),
    "info_device": ("شناسه دستگاه", "Device id"),
    "info_office": ("دفتر", "Office"),
    "info_versions": ("نسخه نرم‌افزار", "Software version"),
    "info_broker": ("وضعیت شبکه و سرور", "Network / broker"),
    "info_board": ("تابلو", "Board"),
    "info_board_value": ("نسخه {version}، کد تأیید {code}", "version {version}, verification code {code}"),
    "info_no_board": ("تابلویی نصب نیست", "No board installed"),
    "info_today": ("امروز", "Today"),
    "info_accepting": ("نوبت‌دهی فعال", "accepting tickets"),
    "unknown": ("نامشخص", "unknown"),
    # -- staff and inspector: the circulars library -------------------------------
    "staff_library": ("کتابخانه بخشنامه‌ها", "Circulars library"),
    "inspector": ("بازرس", "Inspector"),
    "inspector_title": ("نمای بازرس (فقط خواندنی)", "Inspector's view (read only)"),
    "inspector_library": ("بخشنامه‌ها: دریافت و تأیید", "Circulars: received and acknowledged"),
    "inspector_exit": ("خروج از نمای بازرس", "Leave the inspector's view"),
    "kind_all": ("همه", "All"),
    "kind_circular": ("بخشنامه", "Circular"),
    "kind_instruction": ("دستورالعمل", "Instruction"),
    "kind_regulation": ("آیین‌نامه", "Regulation"),
    "kind_tariff_list": ("فهرست تعرفه", "Tariff list"),
    "unread": ("خوانده‌نشده", "Unread"),
    "urgent": ("فوری", "Urgent"),
    "superseded": ("منسوخ؛ جایگزین: {number}", "Superseded by {number}"),
    "entry_meta": ("شماره {number} — {kind} — تاریخ {issued}", "No. {number} — {kind} — issued {issued}"),
    "effective": ("اجرا از {date}", "In force from {date}"),
    "issuer_line": ("صادرکننده: {issuer}", "Issuer: {issuer}"),
    "received_at": ("دریافت: {when}", "Received: {when}"),
    "not_acknowledged": ("خواندن آن هنوز تأیید نشده است", "Not yet acknowledged"),
    "acknowledged_line": ("خواندن تأیید شد: {who}، {when}", "Acknowledged by {who}, {when}"),
    "no_circulars": ("چیزی در این بخش کتابخانه نیست.", "Nothing in this part of the library."),
    "no_such_circular": ("این بخشنامه پیدا نشد.", "This circular was not found."),
    "show_pages": ("دیدن متن کامل", "Read the full text"),
    "acknowledge": ("خواندم؛ تأیید", "I have read it"),
    "acknowledge_named": ("تأیید با نام من", "Acknowledge with my name"),
    "ack_name_title": ("نام خود را بنویسید", "Type your name"),
    "acknowledged_ok": ("خواندن این بخشنامه ثبت شد.", "The acknowledgement is recorded."),
    "file_missing": ("متن کامل این بخشنامه هنوز به دستگاه نرسیده است. خلاصه آن را در صفحه قبل بخوانید.",
                     "The full text has not reached this device yet. Read its summary on the previous screen."),
    "file_broken": ("پرونده این بخشنامه خراب است و نمایش داده نمی‌شود. خلاصه آن را در صفحه قبل بخوانید "
                    "و به پشتیبانی خبر دهید.",
                    "The file of this circular is damaged and cannot be shown. Read its summary on the previous "
                    "screen and tell support."),
    "back_to_library": ("بازگشت به کتابخانه", "Back to the library"),
    "pages_cut": ("فقط {n} صفحه نخست نمایش داده می‌شود", "Only the first {n} pages are shown"),
    "board_history": ("سابقه تابلوی تعرفه‌ها", "Tariff board history"),
    "board_line": ("تابلوی تعرفه نسخه {version} — نصب: {when}", "Tariff board version {version} — installed {when}"),
    "compliance_today": ("رعایت ساعات کاری امروز", "Today's working-hours compliance"),
    "c_scheduled_minutes": ("دقیقه‌های ساعات کاری", "Scheduled minutes"),
    "c_serving_minutes": ("دقیقه‌های خدمت‌رسانی", "Minutes serving"),
    "c_degraded_minutes": ("دقیقه‌های خدمت ناقص", "Minutes degraded"),
    "c_closed_minutes": ("دقیقه‌های بسته در ساعات کاری", "Minutes closed in working hours"),
    "c_unknown_minutes": ("دقیقه‌های نامعلوم", "Minutes unknown"),
    "c_late_opening_minutes": ("دقیقه‌های تأخیر در گشایش", "Minutes opened late"),
    "c_early_closing_minutes": ("دقیقه‌های بستن زودهنگام", "Minutes closed early"),
}

#: Why no ticket: OfficeClosed.reason -> string key.
CLOSED_REASONS = {"closed": "closed_closed", "cutoff": "closed_cutoff", "no_counter": "closed_no_counter",
                  "unavailable": "closed_unavailable"}


def t(key: str, lang: str = "fa", **values) -> str:
    """The text for *key* in *lang*, with ``{name}`` filled from *values*.

    In Persian, numbers among *values* are written with Persian digits.
    """
    n = values.get("n")
    if isinstance(n, int) and f"{key}:{n}" in STRINGS:  # a count with words of its own: none, one
        key = f"{key}:{n}"
    fa, en = STRINGS[key]
    text = fa if lang == "fa" else en
    if values:
        if lang == "fa":
            values = {k: to_persian_digits(v) if isinstance(v, (int, float)) else v for k, v in values.items()}
        text = text.format(**values)
    return text


def number(value, lang: str = "fa") -> str:
    """*value* with digits for *lang*."""
    return to_persian_digits(value) if lang == "fa" else str(value)
