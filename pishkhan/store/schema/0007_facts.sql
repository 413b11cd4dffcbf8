-- Facts stand in boot time as well as wall time: the boot they were recorded
-- in, seconds since that boot (CLOCK_BOOTTIME), and whether the wall clock was
-- synchronised. Facts from before a late NTP sync are re-dated from these.
-- Rows from before this step count as recorded on a synchronised clock.
ALTER TABLE state_log ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE state_log ADD COLUMN mono REAL;
ALTER TABLE state_log ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT 1;

-- When the device was up: one row per boot and process, its first and latest
-- heartbeat in wall and boot time. A gap between boots is time the device was down.
CREATE TABLE uptime (
    boot_id      TEXT NOT NULL,
    process      TEXT NOT NULL,
    first_at     TEXT NOT NULL,
    first_mono   REAL NOT NULL,
    first_synced INTEGER NOT NULL,
    last_at      TEXT NOT NULL,
    last_mono    REAL NOT NULL,
    last_synced  INTEGER NOT NULL,
    PRIMARY KEY (boot_id, process)
);
