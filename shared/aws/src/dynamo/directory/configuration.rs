//! Rules, their order and the sync switch in the DirectoryTable.

use super::*;

impl Configuration for DirectoryTable {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        let mut rules: HashMap<RuleId, StoredRule> = HashMap::new();
        let mut order = OrderItem {
            pk: config_pk(org),
            sk: sk::ORDER.into(),
            org_id: org.clone(),
            rule_ids: Vec::new(),
            version: 0,
        };
        let mut sync = SyncSettings {
            enabled: false,
            changed_at: None,
            changed_by: None,
        };
        for item in self.query_all(config_pk(org), None).await? {
            let sort = match item.get("sk") {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => continue,
            };
            if sort.starts_with(sk::RULE) {
                let r: RuleItem = from_item(item)?;
                let rule = r.rule().map_err(json)?;
                rules.insert(
                    rule.id.clone(),
                    StoredRule {
                        rule,
                        version: r.version,
                    },
                );
            } else if sort == sk::ORDER {
                order = from_item(item)?;
            } else if sort == sk::SYNC {
                let s: SyncItem = from_item(item)?;
                sync = SyncSettings {
                    enabled: s.enabled,
                    changed_at: s.changed_at,
                    changed_by: s.changed_by,
                };
            }
        }
        // the order item decides priorities; a rule it does not name (none
        // should exist) goes last, by id
        let mut ordered: Vec<StoredRule> = order
            .rule_ids
            .iter()
            .filter_map(|id| rules.remove(id))
            .collect();
        let mut rest: Vec<StoredRule> = rules.into_values().collect();
        rest.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        ordered.extend(rest);
        for (i, r) in ordered.iter_mut().enumerate() {
            let p = u32::try_from(i + 1)
                .unwrap_or(Priority::MAX)
                .min(Priority::MAX);
            r.rule.priority = Priority::new(p).map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        Ok(RuleSet {
            rules: ordered,
            sync,
            version: order.version,
        })
    }

    async fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[RuleId],
        read: &RuleSet,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.order_put(org, order, read.version)?)
                .build(),
            TransactWriteItem::builder()
                .condition_check(self.sync_unchanged(org, read.sync.enabled)?)
                .build(),
        ];
        match write {
            RuleWrite::Create(rule) => {
                let item = to_item(&Self::rule_item(org, rule, 1)?)?;
                items.push(
                    TransactWriteItem::builder()
                        .put(self.put(item, Some("attribute_not_exists(pk)"))?)
                        .build(),
                );
            }
            RuleWrite::Update {
                rule,
                expected_version,
            } => {
                let item = to_item(&Self::rule_item(org, rule, expected_version + 1)?)?;
                items.push(self.versioned_put(item, *expected_version)?);
            }
            RuleWrite::Delete {
                id,
                expected_version,
            } => {
                let key = key(config_pk(org), format!("{}{id}", sk::RULE));
                items.push(self.versioned_delete(key, *expected_version)?);
            }
            RuleWrite::Reorder => {}
        }
        self.transact(items).await
    }

    async fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = SyncItem {
            pk: config_pk(org),
            sk: sk::SYNC.into(),
            org_id: org.clone(),
            enabled: sync.enabled,
            changed_at: sync.changed_at.clone(),
            changed_by: sync.changed_by.clone(),
        };
        // the rules are still those the caller checked (the full-admin rule)
        let check = build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(config_pk(org), sk::ORDER)))
                .condition_expression(if expected_version == 0 {
                    "attribute_not_exists(pk) OR version = :v"
                } else {
                    "version = :v"
                })
                .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder()
                .put(self.put(to_item(&item)?, None)?)
                .build(),
            TransactWriteItem::builder().condition_check(check).build(),
        ])
        .await
    }
}
