//! Contract tests: what each port's doc comment promises, written once and
//! run against the in-memory fakes (core's tests) and against the DynamoDB
//! adapters on the AWS emulator (`user-sync-aws`'s tests). Each check takes
//! the port and an organization of its own, so that checks can share a
//! store; a broken promise panics naming it.

pub mod configuration;
pub mod organizations;
pub mod templates;
pub mod tokens;

#[cfg(test)]
mod on_the_fakes {
    use crate::ids::OrgId;
    use crate::memory::MemoryStore;
    use crate::memory::templates::MemoryTemplates;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[tokio::test]
    async fn the_in_memory_organizations_keep_the_contract() {
        super::organizations::check(&MemoryStore::default(), "contract").await;
    }

    #[tokio::test]
    async fn the_in_memory_tokens_keep_the_contract() {
        super::tokens::check(&MemoryStore::default(), &org("tokens")).await;
    }

    #[tokio::test]
    async fn the_in_memory_configuration_keeps_the_contract() {
        super::configuration::check(&MemoryStore::default(), &org("config")).await;
    }

    #[tokio::test]
    async fn the_in_memory_templates_keep_the_contract() {
        super::templates::check(&MemoryTemplates::default(), &org("templates")).await;
    }
}
