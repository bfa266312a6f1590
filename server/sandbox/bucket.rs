//! [`TokenBucket`]: the one rate limit of the code base, used for a session's call rate and for
//! each client address's requests. Time is passed in, so a bucket is tested with explicit
//! instants and follows whichever clock its owner reads (tokio's paused one included).

use std::time::{Duration, Instant};

/// Tokens that refill at a steady rate up to a burst; each admitted action takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens now (as of `last`).
    tokens: f64,
    /// Tokens added per second.
    rate: f64,
    /// Most tokens it holds.
    burst: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
}

impl TokenBucket {
    /// A full bucket: `burst` actions at once, then `rate` per second.
    pub fn full(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    /// Tokens there would be at `now`, were none taken meanwhile (uncapped).
    fn refilled(&self, now: Instant) -> f64 {
        self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate
    }

    /// Take one token at `now`; without one, how long until there is one.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.tokens = self.refilled(now).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // A bucket that never refills (rate 0, which a library caller may configure)
            // answers "never" rather than a duration that cannot be represented.
            Err(Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
                .unwrap_or(Duration::MAX))
        }
    }

    /// Whether the bucket is full again at `now`: forgetting it loses nothing.
    pub fn is_full(&self, now: Instant) -> bool {
        self.refilled(now) >= self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_burst_then_refuses_until_refilled() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(2.0, 3.0, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        assert_eq!(bucket.take(start), Err(Duration::from_millis(500)));
        // Half a second at 2 per second brings one token back.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.take(later), Ok(()));
        assert!(bucket.take(later).is_err());
    }

    #[test]
    fn refills_up_to_the_burst_only() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(10.0, 2.0, start);
        assert_eq!(bucket.take(start), Ok(()));
        assert!(!bucket.is_full(start));
        let much_later = start + Duration::from_secs(60);
        assert!(bucket.is_full(much_later));
        assert_eq!(bucket.take(much_later), Ok(()));
        assert_eq!(bucket.take(much_later), Ok(()));
        assert!(bucket.take(much_later).is_err());
    }

    #[test]
    fn a_bucket_that_never_refills_says_never() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(0.0, 1.0, start);
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start), Err(Duration::MAX));
    }
}
