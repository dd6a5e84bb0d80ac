//! Text helpers shared by the renderers.

use crate::engine::model::Millis;

/// `HH:MM:SS` (UTC) of an epoch time. Integer arithmetic on purpose: the
/// renderers must not depend on the local time zone or a date library to be
/// deterministic in tests and identical across CI runners.
pub fn clock(at: Millis) -> String {
    let day_seconds = at.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day_seconds / 3600, day_seconds / 60 % 60, day_seconds % 60)
}

/// A short human duration: `45s`, `3m 05s`, `1h 02m`. Seconds stop
/// mattering past an hour; the fixed two-digit fields keep columns steady
/// while the value grows.
pub fn duration(ms: Millis) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

/// Seconds with one decimal, rounded: `1.5s`.
pub fn seconds(ms: u64) -> String {
    let tenths = (ms + 50) / 100;
    format!("{}.{}s", tenths / 10, tenths % 10)
}

/// Free text from AWS (status reasons, task reasons) on one line, without
/// control characters: a reason must never move the cursor, change colours
/// or break the one-line-per-event promise of the plain renderer.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if c.is_control() {
            // Collapse runs (`\r\n`, indentation after a newline) into one space.
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(1_741_944_000_000), "09:20:00");
        assert_eq!(clock(1_741_944_000_000 + 3_599_999), "10:19:59");
        assert_eq!(clock(-1000), "23:59:59");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(59_999), "59s");
        assert_eq!(duration(65_000), "1m 05s");
        assert_eq!(duration(3_725_000), "1h 02m");
        assert_eq!(seconds(1_500), "1.5s");
        assert_eq!(seconds(1_549), "1.5s");
        assert_eq!(seconds(1_550), "1.6s");
        assert_eq!(seconds(250), "0.3s");
    }

    #[test]
    fn one_line_strips_control_characters() {
        assert_eq!(one_line("a\r\n  b\x1b[31mc\t"), "a   b [31mc");
    }
}
