"""What ``pishkhan provision enroll`` tells the technician, in Persian and English, and its exit codes.

The centre's refusals carry their own two sentences (:mod:`pishkhan.enrolment`);
the failures found on the device itself are worded here.
"""

#: reason -> exit status. The centre's other refusals (rate_limited, bad_csr, …) exit with ``refused``.
EXIT_CODES = {
    "claim_invalid": 10,
    "claim_expired": 11,
    "claim_used": 12,
    "server_certificate": 13,
    "no_network": 14,
    "refused": 15,
    "local": 16,
}

#: reason (or a finer wording of one: claim_mistyped and claim_malformed of claim_invalid, ca_missing of
#: server_certificate) -> (Persian, English),
#: for failures found by the device.
LOCAL = {
    "claim_mistyped": ("یکی از نویسه‌های کد ثبت اشتباه نوشته شده است (نویسهٔ وارسی نمی‌خواند)؛ کد را نویسه‌به‌نویسه "
                       "با کارگروه استانی دوباره بخوانید.",
                       "a character of the claim code is mistyped (its check character does not match); read the "
                       "code back to the working group character by character"),
    "claim_malformed": ("این کد ثبت نیست: کد ثبت دوازده نویسه در سه گروه چهارتایی است، مانند 7K2M-9QXD-4HTV؛ "
                        "آن را دوباره از کارگروه استانی بپرسید.",
                        "this is not a claim code ({detail}): a claim code is 12 characters in three groups of "
                        "four, like 7K2M-9QXD-4HTV; ask the working group for it again"),
    "ca_missing": ("فایل گواهی مرکز ({detail}) روی دستگاه نیست: بستهٔ پیشخوان آن را در /etc/pishkhan/centre-ca.pem "
                   "می‌گذارد؛ بسته را نصب کنید، یا فایل centre-ca.pem کارگروه را با --ca (یا خط ca = در فایل "
                   "pishkhan-claim.txt) بدهید.",
                   "the centre's CA file ({detail}) is not on this device: the pishkhan package installs "
                   "/etc/pishkhan/centre-ca.pem; install the package, or give the working group's centre-ca.pem "
                   "with --ca (or a `ca =` line in pishkhan-claim.txt)"),
    "server_certificate": ("گواهی سرور ثبت با گواهی مرکز که روی دستگاه است نمی‌خواند؛ نشانی سرور یا فایل CA را بررسی کنید.",
                           "the enrolment server's certificate is not from the centre's CA this device trusts; "
                           "check the server address or the CA file"),
    "no_network": ("به سرور ثبت نمی‌توان رسید: شبکه، کابل یا نشانی سرور را بررسی کنید.",
                   "cannot reach the enrolment server: check the network, the cable and the server address"),
    "refused": ("مرکز پاسخ نادرستی داد: {detail}", "the centre's answer was not usable: {detail}"),
    "local": ("نوشتن پیکربندی یا کلیدها روی دستگاه ممکن نشد: {detail}",
              "could not write the configuration or keys on this device: {detail}"),
}

#: The command line or the claim file is wrong (the English line after it names what).
BAD_INPUT = ("فرمان یا فایل pishkhan-claim.txt درست نیست (جزئیات در خط بعد): نشانی سرور با https:// آغاز می‌شود و "
             "فایل دو خط server = … و claim = … دارد.")
#: A claim refused as used while this device is enrolled already: most likely by this very device.
ALREADY = "این دستگاه پیش‌تر ثبت شده است: {device_id}؛ کاری لازم نیست — sudo pishkhan provision check"
ALREADY_EN = ("this device is enrolled already, as {device_id}: nothing to do (a new enrolment needs a new claim "
              "code) — sudo pishkhan provision check")

ENROLLED = "دستگاه ثبت شد: {device_id} — دفتر {office}، استان {province}"
ENROLLED_EN = "enrolled as {device_id}: office {office}, province {province}"
#: What the technician does next (the boot unit restarts the services itself).
NEXT = ("گام بعد: sudo systemctl restart pishkhan-agent pishkhan-kiosk pishkhan-display pishkhan-panel "
        "و سپس sudo pishkhan provision check")
NEXT_EN = ("next: sudo systemctl restart pishkhan-agent pishkhan-kiosk pishkhan-display pishkhan-panel, "
           "then sudo pishkhan provision check")
WAITING = "شبکه در دسترس نیست؛ {seconds:.0f} ثانیهٔ دیگر دوباره تلاش می‌شود."
WAITING_EN = "no network; trying again in {seconds:.0f} s"

EPILOG = """exit status:
  0   enrolled
  10  the claim code is invalid (unknown, or a character mistyped) / کد ثبت نادرست
  11  the claim code has expired / مهلت کد گذشته
  12  the claim code was used by another device / کد پیش‌تر به کار رفته
  13  the server's certificate is not from the centre's CA / گواهی سرور نامعتبر
  14  no network, or the server does not answer / شبکه در دسترس نیست
  15  the centre refused for another reason, or its answer was unusable / رد از سوی مرکز
  16  this device could not write its configuration or keys / خطای نوشتن روی دستگاه
"""
