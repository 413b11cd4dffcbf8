"""Persian text of the printed ticket, in one place for review.

``{…}`` fields are filled in with Persian digits already applied.
"""

TICKET_NUMBER = "شماره نوبت"
PEOPLE_AHEAD = "نفرات پیش از شما: {n}"
NOBODY_AHEAD = "نفر بعدی شما هستید"
WAIT = "زمان تقریبی انتظار: {minutes} دقیقه"
WAIT_NONE = "زمان تقریبی انتظار: کمتر از یک دقیقه"
PRIORITY = "نوبت ویژه"
ADVICE = "همراه داشته باشید: {documents}"
ADVICE_NONE = "لطفاً تا اعلام شماره در سالن بمانید."
FOOTER = "شماره را روی نمایشگر دنبال کنید"
COMPLAINTS = "پیشنهاد و شکایت: {channel}"
COMPLAINTS_PHONE = "تلفن {phone}"
COMPLAINTS_SHORT_CODE = "پیامک {code}"
