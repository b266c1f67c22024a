//! The data folder's files that both `serve` and `admin` handle: the master key and files only
//! their owner may read.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use keyward_core::crypto::MasterKey;

/// Writes `contents` to a new file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("sync {}", path.display()))?;
    Ok(())
}

/// Reads the master key at `path`, or generates one there (owner-only) when the file is missing.
pub fn load_or_create_master_key(path: &Path) -> Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_file_text(&text)
            .with_context(|| format!("read master key {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate(1).context("generate master key")?;
            write_private(path, key.to_file_text().as_bytes())?;
            tracing::info!(path = %path.display(), "created master key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("read master key {}", path.display())),
    }
}
