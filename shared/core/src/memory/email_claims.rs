//! Welcome-email claims, in memory.

use super::*;

impl EmailClaims for MemoryStore {
    async fn claim_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> Result<EmailClaim, StoreError> {
        let now = self.now();
        Ok(self.with_org(org, |o| {
            let claim = match o.email_claims.entry((user.clone(), key.to_owned())) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Claim {
                        claimed_at: now,
                        sent: false,
                    });
                    return EmailClaim::Claimed;
                }
                std::collections::hash_map::Entry::Occupied(c) => c.into_mut(),
            };
            if claim.sent {
                EmailClaim::Sent
            } else if (now - claim.claimed_at).whole_seconds() < STALE_EMAIL_CLAIM_SECONDS {
                EmailClaim::InProgress
            } else {
                // the delivery that claimed it died before recording its send
                claim.claimed_at = now;
                EmailClaim::TakenOver
            }
        }))
    }

    async fn claim_emails(&self, claims: &[EmailKey<'_>]) -> Vec<Result<EmailClaim, StoreError>> {
        let mut results = Vec::with_capacity(claims.len());
        for c in claims {
            results.push(self.claim_email(c.org, c.user, c.key).await);
        }
        results
    }

    async fn email_sent(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
        entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.with_activity(org, entry, |o| {
            o.email_claims
                .entry((user.clone(), key.to_owned()))
                .or_insert(Claim {
                    claimed_at: now,
                    sent: true,
                })
                .sent = true;
            // a failure recorded by an earlier delivery is over
            o.mail_failures.remove(user);
            Ok(())
        })
    }

    async fn release_email(&self, org: &OrgId, user: &UserId, key: &str) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            o.email_claims.remove(&(user.clone(), key.to_owned()));
        });
        Ok(())
    }
}
