//! Durations as every flag and scenario parameter takes them: plain seconds or humantime
//! (`90s`, `2m`, `1m30s`, `500ms`), never negative, at most a week; timeouts at least a second.
//! Pure functions of the configuration layer: clap calls them as value parsers (`cli`), Kraken's
//! files (`kraken`) and probe specs (`probe::spec`) call them directly.

use std::time::Duration;

/// The longest duration any flag or scenario parameter takes. Longer ones are mistakes, and
/// would overflow the clock once added to it.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 86_400);

/// The shortest `--timeout`: no VMI is Running and Ready sooner, and a zero timeout would give
/// up on a target the moment it was deleted.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Plain seconds (`60`), or a humantime duration (`90s`, `2m`, `1m30s`, `500ms`), at most
/// `MAX_DURATION`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    not_negative(text)?;
    let d = unbounded(text)
        .map_err(|e| format!("{e}: use seconds (60) or a duration like 90s, 2m, 1m30s"))?;
    within_bounds(d).map_err(|e| format!("{} {e}", text.trim()))
}

/// `-1`: clap would suggest `-- -1`; the truth is that durations are positive. (The flags
/// take values with a leading hyphen to get here, so a flag where the value should be is
/// caught here too.)
fn not_negative(text: &str) -> Result<(), String> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('-') else {
        return Ok(());
    };
    Err(
        match rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            true => {
                format!("{text} is negative: durations are positive, e.g. 60 (seconds), 90s, 2m")
            }
            false => format!("expected a duration (60, 90s, 2m), found the flag {text}"),
        },
    )
}

/// A duration as `parse_duration` reads it, before any bound (for messages of their own).
pub fn parse_unbounded(text: &str) -> Option<Duration> {
    unbounded(text).ok()
}

fn unbounded(text: &str) -> Result<Duration, humantime::DurationError> {
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(text),
    }
}

/// A duration no longer than `MAX_DURATION` (the words follow the value in a message).
pub fn within_bounds(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        return Err(format!(
            "is longer than {}, the longest duration allowed",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

/// `--timeout`: a duration of at least `MIN_TIMEOUT`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    at_least_min_timeout(d).map_err(|e| format!("{} {e}", text.trim()))
}

/// A timeout of at least `MIN_TIMEOUT` (the words follow the value in a message).
pub fn at_least_min_timeout(d: Duration) -> Result<Duration, String> {
    if d < MIN_TIMEOUT {
        return Err(format!(
            "is shorter than {}: no VMI is Running and Ready sooner",
            humantime::format_duration(MIN_TIMEOUT)
        ));
    }
    Ok(d)
}

/// kubectl's --request-timeout: "0" means no limit; a bare number is seconds; else a duration
/// with a unit (1s, 2m, 3h, 500ms).
pub fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    not_negative(text)?;
    let d = unbounded(text).map_err(|_| {
        format!("{text:?} is not a duration: use 0 (no limit), seconds (30) or 30s, 1m, 500ms")
    })?;
    within_bounds(d).map_err(|e| format!("{} {e}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_reads_like_kubectl() {
        assert_eq!(parse_request_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(parse_request_timeout("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_request_timeout("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_request_timeout("7"), Ok(Duration::from_secs(7)));
        assert!(parse_request_timeout("soon").is_err());
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_request_timeout("-5s").is_err());
    }

    #[test]
    fn durations_are_bounded_and_timeouts_have_a_floor() {
        assert_eq!(parse_duration("7d"), Ok(MAX_DURATION));
        for huge in ["500000000000years", "8d", "604801", "18446744073709551615"] {
            let err = parse_duration(huge).expect_err(huge);
            assert!(err.contains("longest duration allowed"), "{huge}: {err}");
        }
        assert!(parse_request_timeout("500000000000years").is_err());
        for short in ["0", "1ns", "999ms", "0s"] {
            let err = parse_timeout(short).expect_err(short);
            assert!(err.contains("shorter than 1s"), "{short}: {err}");
        }
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
    }
}
