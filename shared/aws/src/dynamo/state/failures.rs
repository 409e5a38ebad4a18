//! The failures index in the StateTable.

use super::*;

impl FailureIndex for StateTable {
    async fn failure_counts(&self, org: &OrgId) -> Result<Vec<FailureCount>, StoreError> {
        let items = query_all_pages(
            self.client
                .query()
                .table_name(&self.table)
                .index_name(FAILURES_INDEX)
                .key_condition_expression("failurePk = :pk")
                .expression_attribute_values(":pk", s(failures_pk(org)))
                .projection_expression("failureSk"),
        )
        .await?;
        Ok(FailureCount::tally(items.iter().filter_map(
            |item| match item.get("failureSk") {
                Some(AttributeValue::S(sort)) => parse_failure_sk(sort).map(|(f, _)| (f, 1)),
                _ => None,
            },
        )))
    }

    async fn failed_users(
        &self,
        org: &OrgId,
        failure: &Failure,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<FailedUser>, Option<UserId>), StoreError> {
        let prefix = failure_prefix(failure);
        let mail = failure.class == FailureClass::EmailFailed;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(FAILURES_INDEX)
            .key_condition_expression("failurePk = :pk AND begins_with(failureSk, :prefix)")
            .expression_attribute_values(":pk", s(failures_pk(org)))
            .expression_attribute_values(":prefix", s(prefix.clone()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            q = q.set_exclusive_start_key(Some(HashMap::from([
                ("pk".to_owned(), s(user_pk(org, after))),
                (
                    "sk".to_owned(),
                    s(if mail { sk::MAIL_STATUS } else { sk::STATUS }),
                ),
                ("failurePk".to_owned(), s(failures_pk(org))),
                ("failureSk".to_owned(), s(format!("{prefix}{after}"))),
            ])));
        }
        let out = q.send().await.map_err(map_sdk_error)?;
        let mut users = Vec::new();
        for item in out.items.unwrap_or_default() {
            let Some(AttributeValue::S(sort)) = item.get("failureSk") else {
                continue;
            };
            let Some(user_id) = parse_failure_sk(sort).and_then(|(_, u)| UserId::parse(u).ok())
            else {
                continue;
            };
            let user = if mail {
                let m: MailStatusItem = from_item(item)?;
                FailedUser {
                    user_id,
                    failure: failure.clone(),
                    attempts: m.attempts,
                    at: m.at,
                    retried_at: m.retried_at,
                }
            } else {
                let st: StatusItem = from_item(item)?;
                let st: SyncStatus = serde_json::from_str(&st.status).map_err(json)?;
                FailedUser {
                    user_id,
                    failure: st.failure.unwrap_or_else(|| failure.clone()),
                    attempts: st.attempts,
                    at: st.at,
                    retried_at: st.retried_at,
                }
            };
            users.push(user);
        }
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => users.last().map(|u| u.user_id.clone()),
            _ => None,
        };
        Ok((users, next))
    }

    async fn email_failures(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, FailedUser>, StoreError> {
        let keys = users
            .iter()
            .map(|u| key(user_pk(org, u), sk::MAIL_STATUS))
            .collect();
        let by_pk: HashMap<String, &UserId> = users.iter().map(|u| (user_pk(org, u), u)).collect();
        let mut out = HashMap::new();
        for item in batch_get(&self.client, &self.table, keys).await? {
            let m: MailStatusItem = from_item(item)?;
            let Some(user) = by_pk.get(&m.pk).map(|u| (*u).clone()) else {
                continue;
            };
            out.insert(
                user.clone(),
                FailedUser {
                    user_id: user,
                    failure: Failure::of(FailureClass::EmailFailed),
                    attempts: m.attempts,
                    at: m.at,
                    retried_at: m.retried_at,
                },
            );
        }
        Ok(out)
    }

    async fn record_email_failure(
        &self,
        org: &OrgId,
        user: &UserId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(reason) = reason else {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(user_pk(org, user)))
                .key("sk", s(sk::MAIL_STATUS))
                .send()
                .await
                .map_err(map_sdk_error)?;
            return Ok(());
        };
        let failure = Failure::of(FailureClass::EmailFailed);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .update_expression(
                "SET reason = :reason, #at = :at, failurePk = :fpk, failureSk = :fsk ADD attempts :one",
            )
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(
                ":at",
                s(user_sync_core::time::format(time::OffsetDateTime::now_utc())),
            )
            .expression_attribute_values(":fpk", s(failures_pk(org)))
            .expression_attribute_values(":fsk", s(format!("{}{user}", failure_prefix(&failure))))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn mark_email_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        at: &str,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .update_expression("SET retriedAt = :at")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(retriedAt) OR retriedAt < :since)",
            )
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":since", s(not_retried_since))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}
