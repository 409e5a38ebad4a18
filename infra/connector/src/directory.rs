//! The directory as the sync reads it: the LDAP [`Source`] behind the
//! sync's [`Directory`] port, connecting on first use and again after the
//! connection was lost (the service keeps one connection between runs
//! while it works).

use tokio::sync::mpsc;

use crate::model::{ChangeMarker, Changes, Progress, Snapshot, SourceUser};
use crate::source::config::{DirectoryConfig, MappingConfig, ScopeConfig};
use crate::source::{Source, SourceError};
use crate::sync::{Directory, DirectoryError, FullRead};

/// The configured directory.
pub struct LdapDirectory {
    directory: DirectoryConfig,
    scope: ScopeConfig,
    mapping: MappingConfig,
    source: Option<Source>,
}

impl LdapDirectory {
    pub fn new(directory: DirectoryConfig, scope: ScopeConfig, mapping: MappingConfig) -> Self {
        Self {
            directory,
            scope,
            mapping,
            source: None,
        }
    }

    async fn source(&mut self) -> Result<&mut Source, DirectoryError> {
        let source = match self.source.take() {
            Some(s) => s,
            None => Source::connect(&self.directory).await.map_err(error)?,
        };
        Ok(self.source.insert(source))
    }

    /// Keeps the connection unless it is the connection that failed.
    fn after<T>(&mut self, result: Result<T, SourceError>) -> Result<T, DirectoryError> {
        if let Err(e) = &result
            && e.is_retryable()
        {
            self.source = None;
        }
        result.map_err(error)
    }
}

fn error(e: SourceError) -> DirectoryError {
    DirectoryError(e.to_string())
}

fn progress(p: Progress) {
    match p {
        Progress::GroupsRead(n) => tracing::info!(groups = n, "reading the directory"),
        Progress::UsersRead(n) => tracing::info!(users = n, "reading the directory"),
    }
}

impl Directory for LdapDirectory {
    async fn read_full(&mut self) -> Result<Snapshot, DirectoryError> {
        let (scope, mapping) = (self.scope.clone(), self.mapping.clone());
        let source = self.source().await?;
        let result = source.read_full(&scope, &mapping, &mut progress).await;
        self.after(result)
    }

    async fn read_full_paged(
        &mut self,
        pages: mpsc::Sender<Vec<SourceUser>>,
    ) -> Result<FullRead, DirectoryError> {
        let (scope, mapping) = (self.scope.clone(), self.mapping.clone());
        let source = self.source().await?;
        let result = source
            .read_full_paged(&scope, &mapping, &mut progress, pages)
            .await
            .map(|(groups, marker)| FullRead { groups, marker });
        self.after(result)
    }

    async fn read_changes(
        &mut self,
        since: &ChangeMarker,
    ) -> Result<Option<Changes>, DirectoryError> {
        let (scope, mapping) = (self.scope.clone(), self.mapping.clone());
        let source = self.source().await?;
        let result = source
            .read_changes(&scope, &mapping, since, &mut progress)
            .await;
        self.after(result)
    }
}
