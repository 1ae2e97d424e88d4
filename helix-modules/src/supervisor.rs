//! Supervision policy: when a failed or unhealthy module is restarted, how
//! long to back off, and when a crash-looping module is held instead.
//!
//! The registry applies it in [`crate::Registry::supervise`], which the
//! kernel calls periodically with the current time. All times are in the
//! units of that `now` argument (the kernel uses nanoseconds since boot),
//! not those of the registry's handler-timing clock (TSC cycles).

use alloc::collections::VecDeque;

/// Limits for automatic restarts.
///
/// ```
/// use helix_modules::SupervisorPolicy;
/// let p = SupervisorPolicy { max_restarts: 3, ..SupervisorPolicy::default() };
/// assert_eq!(p.backoff(0), p.backoff_base);
/// assert_eq!(p.backoff(1), p.backoff_base * 2);
/// assert_eq!(p.backoff(60), p.backoff_max);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorPolicy {
    /// Wait before the first restart attempt after a failure.
    pub backoff_base: u64,
    /// The wait doubles per consecutive restart up to this.
    pub backoff_max: u64,
    /// Restarts allowed within `window` before the module is held.
    pub max_restarts: u32,
    /// Length of the window in which restarts are counted.
    pub window: u64,
    /// Consecutive event-handler errors after which a module is unhealthy.
    pub error_threshold: u32,
}

impl Default for SupervisorPolicy {
    /// 10 ms base back-off, 1 s cap, 5 restarts per 10 s, unhealthy after
    /// 3 consecutive handler errors (times in nanoseconds).
    fn default() -> Self {
        SupervisorPolicy {
            backoff_base: 10_000_000,
            backoff_max: 1_000_000_000,
            max_restarts: 5,
            window: 10_000_000_000,
            error_threshold: 3,
        }
    }
}

impl SupervisorPolicy {
    /// The wait before restart number `attempt` (0-based) of a streak.
    pub fn backoff(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// What the supervisor remembers about one module.
#[derive(Clone, Debug, Default)]
pub(crate) struct Supervision {
    /// Times of recent restarts, oldest first, within the window.
    restarts: VecDeque<u64>,
    /// When the module was first seen needing a restart in this streak.
    pub(crate) noticed: Option<u64>,
    /// Consecutive restarts without the module staying up a full window.
    streak: u32,
    /// Crash-looping: no more automatic restarts.
    pub(crate) held: bool,
}

/// The supervisor's decision for a module that needs a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Still backing off.
    Wait,
    /// Restart now.
    Restart,
    /// Too many restarts in the window: hold it.
    Hold,
}

impl Supervision {
    /// Decides what to do at `now` for a module that needs a restart.
    pub(crate) fn decide(&mut self, now: u64, policy: &SupervisorPolicy) -> Decision {
        if self.held {
            return Decision::Hold;
        }
        while let Some(&t) = self.restarts.front() {
            if now.saturating_sub(t) >= policy.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.is_empty() {
            self.streak = 0;
        }
        if self.restarts.len() >= policy.max_restarts as usize {
            self.held = true;
            return Decision::Hold;
        }
        let noticed = *self.noticed.get_or_insert(now);
        if now.saturating_sub(noticed) < policy.backoff(self.streak) {
            Decision::Wait
        } else {
            Decision::Restart
        }
    }

    /// Records a restart attempt at `now`.
    pub(crate) fn record_restart(&mut self, now: u64) {
        self.restarts.push_back(now);
        self.streak = self.streak.saturating_add(1);
        self.noticed = None;
    }

    /// Forgets everything: used when an operator restarts or reloads.
    pub(crate) fn reset(&mut self) {
        *self = Supervision::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_then_holds() {
        let p = SupervisorPolicy {
            backoff_base: 10,
            backoff_max: 100,
            max_restarts: 2,
            window: 1000,
            error_threshold: 1,
        };
        let mut s = Supervision::default();
        assert_eq!(s.decide(0, &p), Decision::Wait);
        assert_eq!(s.decide(10, &p), Decision::Restart);
        s.record_restart(10);
        assert_eq!(s.decide(20, &p), Decision::Wait);
        assert_eq!(s.decide(39, &p), Decision::Wait);
        assert_eq!(s.decide(40, &p), Decision::Restart);
        s.record_restart(40);
        assert_eq!(s.decide(50, &p), Decision::Hold);
        assert!(s.held);
        assert_eq!(s.decide(5000, &p), Decision::Hold);
    }

    #[test]
    fn window_expiry_resets_the_streak() {
        let p = SupervisorPolicy {
            backoff_base: 10,
            backoff_max: 100,
            max_restarts: 1,
            window: 100,
            error_threshold: 1,
        };
        let mut s = Supervision::default();
        assert_eq!(s.decide(0, &p), Decision::Wait);
        assert_eq!(s.decide(10, &p), Decision::Restart);
        s.record_restart(10);
        assert_eq!(s.decide(200, &p), Decision::Wait);
        assert_eq!(s.decide(210, &p), Decision::Restart);
    }
}
