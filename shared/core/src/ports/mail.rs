//! Sending email.

use std::future::Future;

use crate::mail::RenderedEmail;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message was refused (bad address, unverified sender): do not retry.
    #[error("email refused: {0}")]
    Rejected(String),
    #[error("email service unavailable")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends one email.
pub trait MailSender: Sync {
    fn send(
        &self,
        to: &str,
        email: &RenderedEmail,
    ) -> impl Future<Output = Result<(), MailError>> + Send;
}
