//! The stop signal every task of the stack watches.

use std::time::Duration;

use tokio::sync::watch;

/// Sends the stop signal (once, to every [`Shutdown`]).
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Receives the stop signal. A task stops when it is sent, or when the
/// trigger is dropped (the stack is gone).
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new trigger and its first receiver.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Whether the stop signal was sent (or the trigger is gone).
    pub fn is_set(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Waits for the stop signal.
    pub async fn wait(&mut self) {
        // An error means the trigger was dropped: that is a stop too.
        if self.0.wait_for(|stop| *stop).await.is_err() {
            tracing::trace!("the stop trigger is gone");
        }
    }

    /// Sleeps for `duration`; `true` when the stop signal came first.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => self.is_set(),
            () = self.wait() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleep_is_cut_short_by_the_signal() {
        let (trigger, mut shutdown) = channel();
        assert!(!shutdown.sleep(Duration::from_millis(1)).await);
        trigger.trigger();
        assert!(shutdown.is_set());
        assert!(shutdown.sleep(Duration::from_secs(60)).await);
        let (trigger, shutdown) = channel();
        drop(trigger);
        assert!(shutdown.is_set());
    }
}
