//! Keeping Burrow's secrets to its own user: the process is not dumpable (its `/proc`
//! environ, memory and descriptors are closed to other processes of the same user, the
//! runner's commands among them), the data folder is 0700 and the files holding keys 0600.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The data folder's mode: only Burrow's user may list or enter it.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the database, its WAL and shared-memory files, backups and exports.
pub const FILE_MODE: u32 = 0o600;

/// Turns off the process's dumpable flag, once, at start-up. Besides core dumps, this makes
/// the kernel check ptrace access before any other process reads `/proc/<pid>/environ`,
/// `mem`, `fd` or `cwd`: same-user processes are refused (root with CAP_SYS_PTRACE is not).
pub fn not_dumpable() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("cannot make the process non-dumpable: {e}");
    }
}

/// Creates `dir` (and missing parents) as 0700, or narrows an existing one to 0700: an
/// older Burrow created it 0755.
pub fn folder(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    narrow(dir, DIR_MODE)
}

/// Narrows an existing file or folder to `mode` when it allows more; a missing one is fine,
/// and so is one Burrow's user does not own (it is said in the log: the owner decides).
pub fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o777 & !mode != 0 => {
            match fs::set_permissions(path, Permissions::from_mode(mode)) {
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    tracing::warn!(
                        "{} is {:o} and cannot be narrowed to {mode:o}: {e}",
                        path.display(),
                        m.permissions().mode() & 0o777
                    );
                    Ok(())
                }
                other => other,
            }
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new file, 0600 whatever the umask; fails when it exists.
pub fn new_file(path: &Path) -> std::io::Result<File> {
    opened(path, OpenOptions::new().write(true).create_new(true))
}

/// Creates or empties a file and makes it 0600, whatever its mode was.
pub fn file(path: &Path) -> std::io::Result<File> {
    opened(
        path,
        OpenOptions::new().write(true).create(true).truncate(true),
    )
}

fn opened(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let file = options.mode(FILE_MODE).open(path)?;
    // The umask can only take bits away, never add them; set the mode exactly anyway, so a
    // strange umask cannot leave the owner without access.
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}
