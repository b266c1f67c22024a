//! The data folder, which both `serve` and `admin` work on: owner-only modes, the master key, and
//! files only their owner may read.
//!
//! The folder is 0700 and every file keyward keeps in it 0600, whatever the umask: it holds the
//! master key, the first root credentials, password hashes and the audit trail. keyward owns
//! what it keeps there, so on a start over looser modes (an older keyward's, a copy's) it tightens
//! them and warns once; it leaves other files in the folder, and a master key file elsewhere
//! (`--master-key-file`), as they are.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use keyward_core::crypto::MasterKey;
use keyward_store::SqliteStore;
use keyward_store::private::{self, FILE_MODE, FOLDER_MODE};

/// The master key's file in the data folder, unless `--master-key-file` names another.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The first root access key, written once at the first start.
pub const ROOT_KEYS_FILE: &str = "root_accessKeys.csv";

/// Creates the data folder 0700 (missing parents as any folder) unless it exists.
pub fn create(dir: &Path) -> Result<()> {
    let context = || format!("create data folder {}", dir.display());
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).with_context(context)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(FOLDER_MODE);
    }
    match builder.create(dir) {
        Ok(()) => {
            #[cfg(unix)]
            {
                // Exactly 0700, whatever the umask took.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(FOLDER_MODE))
                    .with_context(context)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e).with_context(context),
    }
}

/// Makes the data folder and the files keyward keeps in it (its own and the store's, those that
/// exist) owner-only, with one warning naming what it tightened. What it cannot tighten (a file
/// another user owns) is warned about and left: the start goes on.
pub fn secure(dir: &Path) {
    let (mut tightened, mut failed) = private::restrict_all([dir], FOLDER_MODE);
    let files: Vec<PathBuf> = [MASTER_KEY_FILE, ROOT_KEYS_FILE]
        .iter()
        .map(|f| dir.join(f))
        .chain(SqliteStore::files(dir))
        .collect();
    let (more, more_failed) = private::restrict_all(files.iter().map(PathBuf::as_path), FILE_MODE);
    tightened.extend(more);
    failed.extend(more_failed);
    private::report(&tightened, &failed);
}

/// Warns when a master key file outside the data folder is open to other local users: it is the
/// operator's file, so keyward does not change it.
pub fn check_key_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = %format!("{mode:04o}"),
                    "the master key file is open to other local users (chmod 600 it)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes `contents` to a new file readable by its owner only (0600, whatever the umask).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    private::set_exact(&file, FILE_MODE)
        .with_context(|| format!("make {} owner-only", path.display()))?;
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
