"""Persian text of the queue, in one place for review (the ticket's is in
:mod:`pishkhan.render.ticket_strings`).

``{…}`` fields are filled in with Persian digits already applied.
"""

# Refusals (OfficeClosed messages), shown by the kiosk.
CLOSED = "دفتر اکنون بسته است. زمان بازگشایی: {next_open}"
CUTOFF = ("نوبت‌دهی این خدمت برای امروز به پایان رسیده است؛ نوبت شما پیش از پایان ساعت کاری "
          "نمی‌رسد. زمان بازگشایی: {next_open}")
NO_COUNTER = "اکنون هیچ باجه‌ای برای این خدمت باز نیست. لطفاً کمی بعد دوباره تلاش کنید."
