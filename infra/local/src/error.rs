//! What can go wrong while starting or using the local stack.

use std::path::PathBuf;

use crate::resolve::ResolveError;

/// Any error, boxed, as the source of a [`StackError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the local stack could not start, or an operation on it failed. The
/// message says what to do where there is something to do; the source keeps
/// the underlying error (print the chain to see it).
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// `<repo>/.venv/bin/python` does not exist.
    #[error(
        "the AWS emulator's Python environment is missing ({}); run scripts/setup first",
        .0.display()
    )]
    EmulatorMissing(PathBuf),
    /// The emulator process did not come up.
    #[error("the AWS emulator did not start; run scripts/setup first ({0})")]
    EmulatorStart(String),
    /// `template.yaml` could not be read or parsed.
    #[error("cannot read {}", .path.display())]
    TemplateRead {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    /// `template.yaml` parsed, but a part the local runner needs has a shape
    /// it does not understand.
    #[error("template.yaml: {0}")]
    Template(String),
    /// A value in `template.yaml` could not be resolved locally.
    #[error("template.yaml: {what}")]
    Resolve {
        what: String,
        #[source]
        source: ResolveError,
    },
    /// A function's configuration was refused by the function itself.
    #[error("function {function}: invalid configuration: {message}")]
    FunctionConfig { function: String, message: String },
    /// A call to the emulator failed.
    #[error("{action} failed")]
    Aws {
        action: String,
        #[source]
        source: BoxError,
    },
    /// A local I/O operation (binding a port, spawning a process) failed.
    #[error("{action} failed")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// Creating an organization failed.
    #[error("creating organization {org_id} failed")]
    Organization {
        org_id: String,
        #[source]
        source: user_sync_core::StoreError,
    },
}

impl StackError {
    pub(crate) fn aws(action: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Aws {
            action: action.into(),
            source: source.into(),
        }
    }

    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// Formats an error and its chain of sources on one line, `a: b: c`.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
