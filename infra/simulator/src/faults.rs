//! Fault switches: make product-API calls fail, hang, slow down or be rate
//! limited. Deciding a call's fault is pure given the random source.

use serde::{Deserialize, Serialize};

use crate::accounts::null_as_default;

/// The default for `timeoutMs`: how long a "timed out" call is held open.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// The fault switches, as set with `PUT /control/faults`. Missing fields
/// are off (0), except `timeoutMs` which defaults to 30000.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Fraction (0..=1) of calls that answer 500.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_rate: f64,
    /// Fraction (0..=1) of calls that hang for `timeout_ms` then answer 504.
    #[serde(default, deserialize_with = "null_as_default")]
    pub timeout_rate: f64,
    /// Latency added to every call.
    #[serde(default, deserialize_with = "null_as_default")]
    pub latency_ms: u64,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Every call answers 503.
    #[serde(default, deserialize_with = "null_as_default")]
    pub down: bool,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            timeout_rate: 0.0,
            latency_ms: 0,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            down: false,
            rate_limit: None,
        }
    }
}

/// The next `remaining` calls answer 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default, deserialize_with = "null_as_default")]
    pub remaining: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub retry_after_seconds: u64,
}

impl Faults {
    /// Checks the switches make sense (rates are fractions).
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("errorRate", self.error_rate),
            ("timeoutRate", self.timeout_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        Ok(())
    }
}

/// What a call suffers, decided before it touches any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `down`: answer 503.
    Down,
    /// Rate limited: answer 429 with `Retry-After`.
    RateLimited { retry_after_seconds: u64 },
    /// Hold the request open this long, then answer 504.
    Timeout { ms: u64 },
    /// Answer 500.
    Error,
}

/// Decides a call's fault, if any, consuming one rate-limited call. Order:
/// down, rate limit, timeout, error.
pub fn decide(faults: &mut Faults, rng: &mut XorShift) -> Option<Fault> {
    if faults.down {
        return Some(Fault::Down);
    }
    if let Some(rl) = faults.rate_limit.as_mut()
        && rl.remaining > 0
    {
        rl.remaining -= 1;
        return Some(Fault::RateLimited {
            retry_after_seconds: rl.retry_after_seconds,
        });
    }
    if faults.timeout_rate > 0.0 && rng.next_f64() < faults.timeout_rate {
        return Some(Fault::Timeout {
            ms: faults.timeout_ms,
        });
    }
    if faults.error_rate > 0.0 && rng.next_f64() < faults.error_rate {
        return Some(Fault::Error);
    }
    None
}

/// A xorshift64* generator: plenty for picking which calls fail.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A zero seed (which would stick at zero) is replaced by a constant.
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Seeded from the clock.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Fold the 128-bit nanos into 64 bits; truncation is intended.
        #[allow(clippy::cast_possible_truncation)]
        let seed = (nanos ^ (nanos >> 64)) as u64;
        Self::new(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits as the mantissa.
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64;
        v / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn missing_fields_are_off() -> TestResult {
        let f: Faults = serde_json::from_str("{}")?;
        assert_eq!(f, Faults::default());
        assert_eq!(f.timeout_ms, 30_000);
        let f: Faults = serde_json::from_str(r#"{"rateLimit":{"remaining":2}}"#)?;
        assert_eq!(
            f.rate_limit,
            Some(RateLimit {
                remaining: 2,
                retry_after_seconds: 0
            })
        );
        Ok(())
    }

    #[test]
    fn rejects_unknown_fields_and_bad_rates() -> TestResult {
        assert!(serde_json::from_str::<Faults>(r#"{"errorrate":0.5}"#).is_err());
        let f: Faults = serde_json::from_str(r#"{"errorRate":1.5}"#)?;
        assert!(f.validate().is_err());
        let f: Faults = serde_json::from_str(r#"{"timeoutRate":-0.1}"#)?;
        assert!(f.validate().is_err());
        let f: Faults = serde_json::from_str(r#"{"errorRate":1,"timeoutRate":0}"#)?;
        assert!(f.validate().is_ok());
        Ok(())
    }

    #[test]
    fn no_faults_by_default() {
        let mut f = Faults::default();
        let mut rng = XorShift::new(1);
        for _ in 0..1000 {
            assert_eq!(decide(&mut f, &mut rng), None);
        }
    }

    #[test]
    fn down_wins() {
        let mut f = Faults {
            down: true,
            error_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(decide(&mut f, &mut XorShift::new(1)), Some(Fault::Down));
    }

    #[test]
    fn rate_limit_counts_down_then_stops() {
        let mut f = Faults {
            rate_limit: Some(RateLimit {
                remaining: 2,
                retry_after_seconds: 3,
            }),
            ..Faults::default()
        };
        let mut rng = XorShift::new(1);
        let limited = Some(Fault::RateLimited {
            retry_after_seconds: 3,
        });
        assert_eq!(decide(&mut f, &mut rng), limited);
        assert_eq!(decide(&mut f, &mut rng), limited);
        assert_eq!(decide(&mut f, &mut rng), None);
        assert_eq!(f.rate_limit.map(|r| r.remaining), Some(0));
    }

    #[test]
    fn rates_of_one_always_fire() {
        let mut f = Faults {
            timeout_rate: 1.0,
            timeout_ms: 5,
            ..Faults::default()
        };
        let mut rng = XorShift::new(7);
        assert_eq!(decide(&mut f, &mut rng), Some(Fault::Timeout { ms: 5 }));
        let mut f = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(decide(&mut f, &mut rng), Some(Fault::Error));
    }

    #[test]
    fn error_rate_is_roughly_honoured() {
        let mut f = Faults {
            error_rate: 0.2,
            ..Faults::default()
        };
        let mut rng = XorShift::new(42);
        let errors = (0..10_000)
            .filter(|_| decide(&mut f, &mut rng) == Some(Fault::Error))
            .count();
        assert!((1_600..2_400).contains(&errors), "{errors} errors");
    }

    #[test]
    fn floats_are_in_unit_interval() {
        let mut rng = XorShift::new(0);
        for _ in 0..10_000 {
            let v = rng.next_f64();
            assert!((0.0..1.0).contains(&v));
        }
    }
}
