-- The customer-respect plan (طرح تکریم ارباب رجوع): one rating of the service per ticket number and business
-- day, given on the kiosk after the ticket was served (pishkhan.queue.ratings). No personal data: the ticket
-- number, the score and when.
CREATE TABLE ratings (
    day           TEXT NOT NULL,
    ticket_number TEXT NOT NULL,
    score         INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    at            TEXT NOT NULL,
    PRIMARY KEY (day, ticket_number)
);
