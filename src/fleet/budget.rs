//! `FleetBudget`: one vendor budget shared by every replica, as rolling
//! windows kept in Redis.
//!
//! One sorted set per budget holds the admitted calls (score = Redis server
//! time in ms, so replicas' clocks do not matter). One Lua script drops the
//! calls older than the longest window, counts each window, and either admits
//! the call (adds it) or answers how long until the first window has room —
//! atomically, so two replicas can never both take the last slot. Kore uses two
//! windows (a minute and an hour, like Kore's own rolling limits); Lex one of a
//! second for `requests_per_second`.
//!
//! The budget's callers keep the local limiter they had, at
//! [`share`]`(limit, expected_replicas)`, for when Redis gives no answer.

use std::sync::LazyLock;
use std::time::Duration;

use super::{Fleet, FleetError};

/// KEYS[1] = the calls' sorted set; ARGV = limit, window ms (repeated), then
/// a unique member. Returns 0 when admitted, else the ms to wait.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local longest = 0
for i = 1, #ARGV - 1, 2 do
  local w = tonumber(ARGV[i + 1])
  if w > longest then longest = w end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local wait = 0
for i = 1, #ARGV - 1, 2 do
  local limit = tonumber(ARGV[i])
  local w = tonumber(ARGV[i + 1])
  local n = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
  if n >= limit then
    local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
    local free_at = tonumber(e[2]) + w - now
    if free_at > wait then wait = free_at end
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[#ARGV])
redis.call('PEXPIRE', KEYS[1], longest)
return 0";

static TAKE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(TAKE));

/// A replica's part of a budget while it cannot ask Redis: `limit /
/// expected_replicas`, rounded down, at least 1.
pub fn share(limit: u32, expected_replicas: u32) -> u32 {
    (limit / expected_replicas.max(1)).max(1)
}

#[derive(Clone, Debug)]
pub struct FleetBudget {
    fleet: Fleet,
    key: String,
    /// (calls, window) pairs: at most `calls` in any rolling `window`.
    windows: Vec<(u32, Duration)>,
}

impl FleetBudget {
    /// The budget named `name` (e.g. `kore:{bot}`).
    pub fn new(fleet: Fleet, name: &str, windows: Vec<(u32, Duration)>) -> Self {
        let key = fleet.key(&["budget", name]);
        FleetBudget {
            fleet,
            key,
            windows,
        }
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Takes one call if every window has room (`Ok(None)`), else says how
    /// long until one may (`Ok(Some(wait))`).
    pub async fn try_take(&self) -> Result<Option<Duration>, FleetError> {
        let member = uuid::Uuid::new_v4().to_string();
        let wait: i64 = self
            .fleet
            .run(|mut c| {
                let mut inv = TAKE_SCRIPT.key(&self.key);
                for (calls, window) in &self.windows {
                    inv.arg(*calls).arg(window.as_millis().max(1) as u64);
                }
                inv.arg(&member);
                async move { inv.invoke_async(&mut c).await }
            })
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn the_share_rounds_down_but_never_to_zero() {
        assert_eq!(share(60, 3), 20);
        assert_eq!(share(1800, 7), 257);
        assert_eq!(share(5, 3), 1);
        assert_eq!(share(2, 5), 1);
        assert_eq!(share(60, 0), 60);
    }
}
