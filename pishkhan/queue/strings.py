"""Persian text of the queue and the ticket, in one place for review.

``{…}`` fields are filled in with Persian digits already applied.
"""

# Refusals (OfficeClosed messages), shown by the kiosk.
CLOSED = "دفتر اکنون بسته است. زمان بازگشایی: {next_open}"
CUTOFF = ("نوبت‌دهی این خدمت برای امروز به پایان رسیده است؛ نوبت شما پیش از پایان ساعت کاری "
          "نمی‌رسد. زمان بازگشایی: {next_open}")
NO_COUNTER = "اکنون هیچ باجه‌ای برای این خدمت باز نیست. لطفاً کمی بعد دوباره تلاش کنید."

# The printed ticket.
TICKET_NUMBER = "شماره نوبت"
PEOPLE_AHEAD = "نفرات پیش از شما: {n}"
NOBODY_AHEAD = "نفر بعدی شما هستید"
WAIT = "زمان تقریبی انتظار: {minutes} دقیقه"
WAIT_NONE = "زمان تقریبی انتظار: کمتر از یک دقیقه"
PRIORITY = "نوبت ویژه"
ADVICE = "همراه داشته باشید: {documents}"
ADVICE_NONE = "لطفاً تا اعلام شماره در سالن بمانید."
FOOTER = "شماره را روی نمایشگر دنبال کنید"
