//! What a run leaves for the next one, in `state.json` under
//! `sync.state_dir`: the directory's change marker, when the last full run
//! ended, and whether the next run must be full. Written whole to a
//! temporary file, then renamed over the old one, so a run killed while
//! writing leaves the previous state.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::ChangeMarker;

/// Largest state file read.
const MAX_STATE: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a state file this version wrote ({detail}); remove it to start with a full run"
    )]
    Corrupt { path: PathBuf, detail: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub marker: Option<ChangeMarker>,
    pub last_full: Option<SystemTime>,
    pub full_needed: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OnDisk {
    version: u32,
    marker: Option<ChangeMarker>,
    /// Seconds since the Unix epoch.
    last_full_run: Option<u64>,
    full_needed: bool,
}

impl State {
    /// The state at `path`; none yet is the empty state (a full run).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let corrupt = |detail: String| StateError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        if meta.len() > MAX_STATE {
            return Err(corrupt("too large".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.to_owned(),
            source,
        })?;
        let disk: OnDisk = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if disk.version != 1 {
            return Err(corrupt(format!("version {}", disk.version)));
        }
        Ok(Self {
            marker: disk.marker,
            last_full: disk
                .last_full_run
                .map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            full_needed: disk.full_needed,
        })
    }

    /// Writes the state to `path`, creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let write = |source| StateError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write)?;
        }
        let disk = OnDisk {
            version: 1,
            marker: self.marker.clone(),
            last_full_run: self
                .last_full
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            full_needed: self.full_needed,
        };
        let text = serde_json::to_string_pretty(&disk)
            .map_err(|e| write(std::io::Error::other(e.to_string())))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, path).map_err(write)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_written_and_read_back() {
        let dir = std::env::temp_dir().join(format!("connector-state-{}", std::process::id()));
        let path = dir.join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let s = State {
            marker: Some(ChangeMarker::ActiveDirectory {
                server: "dc1".into(),
                invocation_id: "abc".into(),
                usn: 42,
            }),
            last_full: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            full_needed: false,
        };
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
        std::fs::write(&path, "{").unwrap();
        assert!(
            State::load(&path)
                .unwrap_err()
                .to_string()
                .contains("remove it")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
