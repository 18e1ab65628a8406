//! When a schedule is due: a standard five-field cron expression (croner) read in
//! an IANA time zone (chrono-tz), so "9:00 in Europe/Berlin" stays 9:00 across
//! daylight-saving changes. Five fields only: nothing runs more than once a minute.

use chrono::{TimeZone as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The longest cron expression or time zone name read.
const MAX_CHARS: usize = 200;

/// A parsed cron expression in its time zone.
#[derive(Clone)]
pub(crate) struct When {
    cron: Cron,
    zone: Tz,
}

impl When {
    /// Reads `cron` and `timezone`; the error names the field at fault.
    pub(crate) fn parse(cron: &str, timezone: &str) -> Result<When, (&'static str, String)> {
        // Checked before parsing: messages repeat them, and long ones cost time to read.
        for (field, value) in [("cron", cron), ("timezone", timezone)] {
            if value.chars().count() > MAX_CHARS {
                return Err((field, format!("{field} is longer than {MAX_CHARS} characters")));
            }
        }
        let zone: Tz = timezone.parse().map_err(|_| {
            ("timezone", format!("timezone '{timezone}' is not an IANA time zone name like 'Europe/Berlin' or 'UTC'"))
        })?;
        let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
        let cron = parser.parse(cron).map_err(|e| {
            ("cron", format!("cron '{cron}' is not a five-field cron expression (minute hour day month weekday): {e}"))
        })?;
        Ok(When { cron, zone })
    }

    /// The first due time strictly after `after_ms` (epoch milliseconds), if any.
    pub(crate) fn next_after(&self, after_ms: i64) -> Option<i64> {
        // From the whole minute: croner keeps the start's milliseconds in what it finds.
        let minute = after_ms.div_euclid(60_000) * 60_000;
        let mut from = Utc.timestamp_millis_opt(minute).single()?.with_timezone(&self.zone);
        // In a repeated local hour (autumn), croner answers with the earlier of the two
        // instants a local time names, which may lie before `from`: search on from the
        // next local minute until a due time is really later.
        for _ in 0..(2 * 60 + 1) {
            let next = self.cron.find_next_occurrence(&from, false).ok()?;
            if next.timestamp_millis() > after_ms {
                return Some(next.timestamp_millis());
            }
            from =
                from.with_timezone(&Utc).checked_add_signed(chrono::TimeDelta::minutes(1))?.with_timezone(&self.zone);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::When;
    use chrono::{TimeZone as _, Utc};

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("a valid time").timestamp_millis()
    }

    #[test]
    fn five_fields_in_a_time_zone() {
        let every_15 = When::parse("*/15 * * * *", "UTC").expect("valid");
        assert_eq!(every_15.next_after(ms(2026, 1, 1, 10, 7)), Some(ms(2026, 1, 1, 10, 15)));
        // Due times are whole minutes, whatever the milliseconds of the start.
        assert_eq!(every_15.next_after(ms(2026, 1, 1, 10, 7) + 888), Some(ms(2026, 1, 1, 10, 15)));
        assert_eq!(every_15.next_after(ms(2026, 1, 1, 10, 15) - 1), Some(ms(2026, 1, 1, 10, 15)));
        // Due at a due time: the next one, never the same again.
        assert_eq!(every_15.next_after(ms(2026, 1, 1, 10, 15)), Some(ms(2026, 1, 1, 10, 30)));
        // 9:00 in Berlin is 8:00 UTC in winter and 7:00 UTC in summer.
        let nine = When::parse("0 9 * * *", "Europe/Berlin").expect("valid");
        assert_eq!(nine.next_after(ms(2026, 1, 10, 12, 0)), Some(ms(2026, 1, 11, 8, 0)));
        assert_eq!(nine.next_after(ms(2026, 7, 10, 12, 0)), Some(ms(2026, 7, 11, 7, 0)));
        // Across the spring change (29 March 2026, 2:00 → 3:00 in Berlin): still 9:00 local.
        assert_eq!(nine.next_after(ms(2026, 3, 28, 12, 0)), Some(ms(2026, 3, 29, 7, 0)));
        assert_eq!(nine.next_after(ms(2026, 10, 24, 12, 0)), Some(ms(2026, 10, 25, 8, 0)));
    }

    #[test]
    fn nonexistent_and_repeated_local_times_fire_once() {
        // 2:30 does not exist in Berlin on 29 March 2026; whatever croner picks, it
        // is a single time on or after the change, and the next day is 2:30 again.
        let half_two = When::parse("30 2 * * *", "Europe/Berlin").expect("valid");
        let spring = half_two.next_after(ms(2026, 3, 28, 12, 0)).expect("a due time");
        assert!(spring >= ms(2026, 3, 29, 1, 0) && spring <= ms(2026, 3, 30, 0, 30), "{spring}");
        let after = half_two.next_after(spring).expect("a due time");
        assert!(after > spring && after <= ms(2026, 3, 30, 0, 30), "{after}");
        // From inside the repeated hour (01:10 UTC is the second 02:10 in Berlin), the
        // next due time is later, never the first pass's 02:15 that has gone by.
        let every_15 = When::parse("*/15 * * * *", "Europe/Berlin").expect("valid");
        let inside = ms(2026, 10, 25, 1, 10);
        let next = every_15.next_after(inside).expect("a due time");
        assert!(next > inside && next <= ms(2026, 10, 25, 2, 0), "{next}");
        // 2:30 happens twice on 25 October 2026: the due times still move forward.
        let autumn = half_two.next_after(ms(2026, 10, 24, 12, 0)).expect("a due time");
        let next = half_two.next_after(autumn).expect("a due time");
        assert!(next > autumn);
    }

    #[test]
    fn bad_expressions_name_their_field() {
        assert_eq!(When::parse("* * * * * *", "UTC").err().map(|e| e.0), Some("cron"));
        assert_eq!(When::parse("61 * * * *", "UTC").err().map(|e| e.0), Some("cron"));
        assert_eq!(When::parse("not cron", "UTC").err().map(|e| e.0), Some("cron"));
        assert_eq!(When::parse("* * * * *", "Mars/Olympus").err().map(|e| e.0), Some("timezone"));
    }
}
