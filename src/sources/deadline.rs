//! The time a bot's answer is due, visible to the source answering it.
//!
//! The engine gives each bot a deadline (its share of the request timeout)
//! and turns a bot past it into that bot's error. A source that would have
//! to wait past it — Kore's call budget used up for the next minute — can do
//! nothing useful meanwhile except spend calls on an answer that will be
//! thrown away, so it asks [`remaining`] and fails at once instead.
//!
//! A task-local: the engine sets it around each bot's call ([`scope`]); a
//! source that moves work onto tasks of its own carries it over with
//! [`carry`].

use std::future::Future;

use tokio::time::{Duration, Instant};

tokio::task_local! {
    static DUE: Instant;
}

/// Runs `work` with its answer due at `due`.
pub async fn scope<F: Future>(due: Instant, work: F) -> F::Output {
    DUE.scope(due, work).await
}

/// `work`, due when the current task's work is due (for a spawned task).
pub fn carry<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let due = DUE.try_with(|d| *d).ok();
    async move {
        match due {
            Some(due) => DUE.scope(due, work).await,
            None => work.await,
        }
    }
}

/// How long until the current work is due; `None` when nothing set a deadline.
pub fn remaining() -> Option<Duration> {
    DUE.try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_is_seen_inside_and_carried_to_spawned_tasks() {
        assert_eq!(remaining(), None);
        let due = Instant::now() + Duration::from_secs(5);
        scope(due, async {
            let here = remaining().expect("set");
            assert!(here <= Duration::from_secs(5) && here > Duration::from_secs(4));
            let carried = tokio::spawn(carry(async { remaining() })).await.unwrap();
            assert!(carried.is_some_and(|r| r <= here));
            let bare = tokio::spawn(async { remaining() }).await.unwrap();
            assert_eq!(bare, None, "a task-local does not cross a spawn by itself");
        })
        .await;
    }
}
