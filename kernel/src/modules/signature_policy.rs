//! The loader's signature policy: which directories' component images
//! load without a signature. `/boot` always does (the boot RomFS is trusted
//! as the kernel is); everything else needs one unless the holder of the
//! policy's control (`/sys/trust`, `objects::trust`) exempts its directory.

use alloc::string::String;
use alloc::vec::Vec;

use com::{Result, Status};
use interfaces::trust::BOOT_DIRECTORY;
use spin::Mutex;

/// The directories besides `/boot` whose images load without a signature
/// (none by default).
static EXEMPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether an image read from `location` must be verified first.
pub fn needs_signature(location: &str) -> bool {
    if within(location, BOOT_DIRECTORY) {
        return false;
    }
    !EXEMPT
        .lock()
        .iter()
        .any(|directory| within(location, directory))
}

/// True when `location` lies below `directory`.
fn within(location: &str, directory: &str) -> bool {
    location
        .strip_prefix(directory)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Copies the `index`th exempt directory (`/boot` first) into `buffer`;
/// returns its length.
pub fn exempt_directory(index: usize, buffer: &mut [u8]) -> Result<usize> {
    let exempt = EXEMPT.lock();
    let directory = match index.checked_sub(1) {
        None => BOOT_DIRECTORY,
        Some(index) => exempt.get(index).ok_or(Status::NO_MORE_ENTRIES)?,
    };
    let target = buffer
        .get_mut(..directory.len())
        .ok_or(Status::BUFFER_TOO_SMALL)?;
    target.copy_from_slice(directory.as_bytes());
    Ok(directory.len())
}

/// Makes images from `directory` need a signature, or not.
pub fn set(directory: &str, needs_signature: bool) -> Result<()> {
    let directory = namespace::validate_name(directory)?;
    if directory == "/" || directory == BOOT_DIRECTORY {
        // `/` would take in `/boot`; `/boot` is trusted whole.
        return Err(Status::INVALID_ARGUMENT);
    }
    let mut exempt = EXEMPT.lock();
    let position = exempt.iter().position(|held| held == directory);
    match (needs_signature, position) {
        (true, Some(index)) => {
            exempt.remove(index);
            if exempt.is_empty() {
                // An empty policy holds no memory: `mem` returns to where
                // it was.
                *exempt = Vec::new();
            }
        }
        (false, None) => {
            let mut copy = String::new();
            copy.try_reserve_exact(directory.len())
                .map_err(|_| Status::OUT_OF_MEMORY)?;
            copy.push_str(directory);
            exempt.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
            exempt.push(copy);
        }
        _ => {}
    }
    Ok(())
}
