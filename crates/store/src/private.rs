//! Owner-only modes for what keyward keeps on disk: the store holds password hashes, sealed
//! secrets and the audit trail, none of them for other local users to read. Folders are 0700 and
//! files 0600 whatever the umask. SQLite creates a database's `-wal` and `-shm` files itself, with
//! the database file's mode (its unix VFS copies it, also past the umask), so creating the
//! database file 0600 before SQLite opens it makes them 0600 too. Outside unix these do nothing.

use std::io;
use std::path::{Path, PathBuf};

/// The mode of the folders keyward creates and keeps.
pub const FOLDER_MODE: u32 = 0o700;

/// The mode of the files keyward creates and keeps.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` as an empty file with [`FILE_MODE`] unless it exists (then it is left as is).
pub fn create_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(file) => set_exact(&file, FILE_MODE),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives an open file (or folder) exactly `mode`: the umask may have taken more than group and
/// other bits from the mode it was created with.
#[cfg_attr(not(unix), allow(unused_variables))]
pub fn set_exact(file: &std::fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// A file or folder whose mode [`restrict`] changed, and the mode it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    pub path: PathBuf,
    pub was: u32,
}

impl std::fmt::Display for Tightened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (was {:04o})", self.path.display(), self.was)
    }
}

/// Sets `path`'s mode to `mode` when its group or other users have any access to it; returns
/// what it changed. Nothing when `path` does not exist or is already owner-only.
#[cfg_attr(not(unix), allow(unused_variables))]
pub fn restrict(path: &Path, mode: u32) -> io::Result<Option<Tightened>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let was = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if was & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            return Ok(Some(Tightened {
                path: path.to_path_buf(),
                was,
            }));
        }
    }
    Ok(None)
}

/// [`restrict`]s each of `paths` to `mode`: what it changed, and what it could not change (with
/// why; a file someone else owns, say).
pub fn restrict_all<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
    mode: u32,
) -> (Vec<Tightened>, Vec<(PathBuf, io::Error)>) {
    let mut tightened = Vec::new();
    let mut failed = Vec::new();
    for path in paths {
        match restrict(path, mode) {
            Ok(Some(t)) => tightened.push(t),
            Ok(None) => {}
            Err(e) => failed.push((path.to_path_buf(), e)),
        }
    }
    (tightened, failed)
}

/// Logs, once for all of them, what [`restrict_all`] tightened and what it could not.
pub fn report(tightened: &[Tightened], failed: &[(PathBuf, io::Error)]) {
    if !tightened.is_empty() {
        let list: Vec<String> = tightened.iter().map(ToString::to_string).collect();
        tracing::warn!(
            paths = %list.join(", "),
            "other local users had access to keyward's data: made it owner-only (folders 0700, files 0600)"
        );
    }
    for (path, error) in failed {
        tracing::warn!(path = %path.display(), %error, "could not make owner-only: other local users may read it");
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_file_is_owner_only_and_leaves_an_existing_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        create_file(&new).unwrap();
        assert_eq!(mode(&new), 0o600);

        let old = dir.path().join("old");
        std::fs::write(&old, b"kept").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_file(&old).unwrap();
        assert_eq!(std::fs::read(&old).unwrap(), b"kept");
        assert_eq!(
            mode(&old),
            0o640,
            "create_file does not tighten: restrict does"
        );
    }

    #[test]
    fn restrict_changes_only_what_others_can_reach() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        let read_only = dir.path().join("read-only");
        let missing = dir.path().join("missing");
        for (p, m) in [(&open, 0o644), (&read_only, 0o400)] {
            std::fs::write(p, b"").unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        let (tightened, failed) = restrict_all(
            [open.as_path(), read_only.as_path(), missing.as_path()],
            FILE_MODE,
        );
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(
            tightened,
            vec![Tightened {
                path: open.clone(),
                was: 0o644
            }]
        );
        assert_eq!(
            tightened[0].to_string(),
            format!("{} (was 0644)", open.display())
        );
        assert_eq!(mode(&open), 0o600);
        assert_eq!(mode(&read_only), 0o400, "already owner-only: left as is");
        assert!(!missing.exists());
    }
}
