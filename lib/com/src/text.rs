//! Text handed back to a caller: how a method that answers with a name or
//! a message (`name`, `find_first`, `location`, ...) fills the caller's
//! buffer.

use crate::{Result, Status};

/// Copies `text` to the start of `buffer` and returns its length in bytes;
/// `BUFFER_TOO_SMALL`, with nothing written, when it does not fit (the
/// caller may try again with a larger buffer).
pub fn copy_text(text: impl AsRef<[u8]>, buffer: &mut [u8]) -> Result<usize> {
    let text = text.as_ref();
    let room = buffer
        .get_mut(..text.len())
        .ok_or(Status::BUFFER_TOO_SMALL)?;
    room.copy_from_slice(text);
    Ok(text.len())
}
