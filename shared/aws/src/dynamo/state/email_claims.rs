//! Welcome-email claims in the StateTable.

use super::*;

impl EmailClaims for StateTable {
    async fn claim_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> Result<EmailClaim, StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let (pk, sort) = (user_pk(org, user), format!("{}{key}", sk::EMAIL));
        let item = to_item(&EmailClaimItem {
            pk: pk.clone(),
            sk: sort.clone(),
            claimed_at: user_sync_core::time::format(now),
            state: Some(claim_state::SENDING.to_owned()),
        })?;
        let first = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error);
        match first {
            Ok(_) => return Ok(EmailClaim::Claimed),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let old = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sort))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_sdk_error)?
            .item
            .map(from_item::<EmailClaimItem>)
            .transpose()?;
        // given back meanwhile (a failed send): look again later
        let Some(old) = old else {
            return Ok(EmailClaim::InProgress);
        };
        if old.state.as_deref() != Some(claim_state::SENDING) {
            return Ok(EmailClaim::Sent);
        }
        let age = user_sync_core::time::parse(&old.claimed_at)
            .map_or(STALE_EMAIL_CLAIM_SECONDS, |then| {
                (now - then).whole_seconds()
            });
        if age < STALE_EMAIL_CLAIM_SECONDS {
            return Ok(EmailClaim::InProgress);
        }
        // the delivery that claimed it died before recording its send
        let taken = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("claimedAt = :c AND #s = :sending")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":c", s(old.claimed_at))
            .expression_attribute_values(":sending", s(claim_state::SENDING))
            .send()
            .await
            .map_err(map_sdk_error);
        match taken {
            Ok(_) => Ok(EmailClaim::TakenOver),
            Err(StoreError::Conflict(_)) => Ok(EmailClaim::InProgress),
            Err(e) => Err(e),
        }
    }

    /// One claim: [`EmailClaims::claim_email`]; more: the new claims in
    /// transactions of up to 25 puts, each conditioned on no claim existing;
    /// a claim that exists already is looked at on its own, as one claim is.
    async fn claim_emails(&self, claims: &[EmailKey<'_>]) -> Vec<Result<EmailClaim, StoreError>> {
        if let [c] = claims {
            return vec![self.claim_email(c.org, c.user, c.key).await];
        }
        let claimed_at = user_sync_core::time::format(time::OffsetDateTime::now_utc());
        let items = claims
            .iter()
            .map(|c| {
                let item = to_item(&EmailClaimItem {
                    pk: user_pk(c.org, c.user),
                    sk: format!("{}{}", sk::EMAIL, c.key),
                    claimed_at: claimed_at.clone(),
                    state: Some(claim_state::SENDING.to_owned()),
                })?;
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(StoreError::permanent)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect();
        let written = transact_each(&self.client, items).await;
        let mut results = Vec::with_capacity(claims.len());
        for (c, r) in claims.iter().zip(written) {
            results.push(match r {
                Ok(()) => Ok(EmailClaim::Claimed),
                // claimed before: sent, in progress, or to take over
                Err(StoreError::Conflict(_)) => self.claim_email(c.org, c.user, c.key).await,
                Err(e) => Err(e),
            });
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
        let now = user_sync_core::time::format(time::OffsetDateTime::now_utc());
        let sent = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(format!("{}{key}", sk::EMAIL)))
            .update_expression("SET #s = :sent, sentAt = :now")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":sent", s(claim_state::SENT))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(StoreError::permanent)?;
        // a failure recorded by an earlier delivery is over
        let failure_over = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .build()
            .map_err(StoreError::permanent)?;
        self.with_activity(
            org,
            vec![
                TransactWriteItem::builder().update(sent).build(),
                TransactWriteItem::builder().delete(failure_over).build(),
            ],
            entry,
        )
        .await
    }

    async fn release_email(&self, org: &OrgId, user: &UserId, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(format!("{}{key}", sk::EMAIL)))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}
