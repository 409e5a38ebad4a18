//! The mail service, in memory.

use super::*;

use crate::mail::RenderedEmail;
use crate::ports::{MailError, MailSender};

/// One email the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub to: String,
    pub email: RenderedEmail,
}

/// A mail service that keeps what it sends. It refuses addresses told to
/// [`MemoryMailSender::reject`] (as the mail service refuses a bad address)
/// and answers `Transient` while [`MemoryMailSender::set_down`].
#[derive(Default)]
pub struct MemoryMailSender {
    state: Mutex<MailState>,
}

#[derive(Default)]
struct MailState {
    sent: Vec<SentEmail>,
    /// lowercased addresses refused
    rejected: BTreeSet<String>,
    down: bool,
}

/// The mail service is down.
#[derive(Debug, thiserror::Error)]
#[error("the in-memory mail service is down")]
struct Down;

impl MemoryMailSender {
    fn state(&self) -> MutexGuard<'_, MailState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses every email to `address` (ignoring case) from now on.
    pub fn reject(&self, address: &str) {
        self.state().rejected.insert(address.to_lowercase());
    }

    /// Answers `Transient` to every send while `down`.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// The emails sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentEmail> {
        self.state().sent.clone()
    }
}

impl MailSender for MemoryMailSender {
    async fn send(&self, to: &str, email: &RenderedEmail) -> Result<(), MailError> {
        let mut state = self.state();
        if state.down {
            return Err(MailError::Transient(Box::new(Down)));
        }
        if state.rejected.contains(&to.to_lowercase()) {
            return Err(MailError::Rejected("the address was refused".to_owned()));
        }
        state.sent.push(SentEmail {
            to: to.to_owned(),
            email: email.clone(),
        });
        Ok(())
    }
}
