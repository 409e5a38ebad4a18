//! SES (v2) adapter: sends one rendered email.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use user_sync_core::mail::RenderedEmail;
use user_sync_core::ports::{MailError, MailSender};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

impl MailSender for SesMailer {
    async fn send(&self, to: &str, email: &RenderedEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err().code(),
                    Some(
                        "MessageRejected"
                            | "BadRequestException"
                            | "MailFromDomainNotVerifiedException"
                            | "AccountSuspendedException"
                            // an invalid address, as the SES v1 API (and the
                            // local emulator) names it
                            | "InvalidParameterValue"
                    )
                ) =>
            {
                Err(MailError::Rejected(
                    e.err().code().unwrap_or_default().to_owned(),
                ))
            }
            Err(e) => Err(MailError::Transient(Box::new(e))),
        }
    }
}
