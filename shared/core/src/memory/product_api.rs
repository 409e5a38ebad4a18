//! The product API, in memory.

use super::*;

impl ProductApi for MemoryProductApi {
    async fn put_account(
        &self,
        _org: &OrgId,
        _user_key: &UserId,
        _account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        Ok(AccountWrite::Updated)
    }

    async fn seats(&self, _org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        if self.down {
            return Err(ProductApiError::Unavailable("down".to_owned()));
        }
        Ok(self
            .seats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}
