//! The answer of `POST /rules/preview`: computed by the rules service
//! ([`user_sync_core::service::rules::RuleService::preview`], over
//! [`user_sync_core::service::preview`]).

pub use user_sync_core::service::preview::PreviewView;
