//! A 9P2000.L codec: the requests a client sends and the replies it reads, bounds-checked; used by `components/virtio-9p` and its fuzz target.
//!
//! Every message is `size[4] type[1] tag[2]` and a body, little-endian;
//! strings are `length[2]` and UTF-8 bytes. [`Request`] encodes the
//! requests the client makes; [`Reply::decode`] reads a reply, checking
//! every length against the message (a malformed reply is
//! `Err(BAD_IMAGE)`, never a read out of bounds), that it answers the
//! request's tag and type, and turns `Rlerror` into a status.
//!
//! Depends on `com` (status codes).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod reply;

use alloc::vec::Vec;

use com::{Result, Status};

pub use reply::{DirEntry, Qid, Reply, decode_entries};

/// The protocol version this codec speaks.
pub const VERSION: &str = "9P2000.L";
/// The tag of `Tversion`.
pub const NO_TAG: u16 = 0xffff;
/// "No fid" (the `afid` of an attach without authentication).
pub const NO_FID: u32 = 0xffff_ffff;
/// The bytes before a message's body.
pub const HEADER: usize = 7;
/// The bytes of `Rread` (and `Rreaddir`) before the data: the header
/// and `count[4]`.
pub const READ_OVERHEAD: u32 = 7 + 4;
/// The bytes of `Twrite` before the data: the header, `fid[4]`,
/// `offset[8]` and `count[4]`.
pub const WRITE_OVERHEAD: u32 = 7 + 4 + 8 + 4;

/// Message types (the `T` is a request, the `R` its reply).
pub mod kind {
    /// An error reply (Linux errno).
    pub const RLERROR: u8 = 7;
    /// Open a fid.
    pub const TLOPEN: u8 = 12;
    /// Create and open a file.
    pub const TLCREATE: u8 = 14;
    /// Read attributes.
    pub const TGETATTR: u8 = 24;
    /// Change attributes (the size).
    pub const TSETATTR: u8 = 26;
    /// Read directory entries.
    pub const TREADDIR: u8 = 40;
    /// Flush a file to stable storage.
    pub const TFSYNC: u8 = 50;
    /// Make a directory.
    pub const TMKDIR: u8 = 72;
    /// Remove a name from a directory.
    pub const TUNLINKAT: u8 = 76;
    /// Negotiate the version and message size.
    pub const TVERSION: u8 = 100;
    /// Attach to the served tree.
    pub const TATTACH: u8 = 104;
    /// Walk names from a fid to a new fid.
    pub const TWALK: u8 = 110;
    /// Read a file.
    pub const TREAD: u8 = 116;
    /// Write a file.
    pub const TWRITE: u8 = 118;
    /// Forget a fid.
    pub const TCLUNK: u8 = 120;
}

/// `Tgetattr`'s mask: the basic attributes (mode, size, ...).
pub const GETATTR_BASIC: u64 = 0x7ff;
/// `Tsetattr`'s valid bit for the size.
pub const SETATTR_SIZE: u32 = 0x8;
/// `Tunlinkat`'s flag to remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// Open flags (Linux's).
pub mod open {
    /// Read only.
    pub const READ: u32 = 0;
    /// Read and write.
    pub const READ_WRITE: u32 = 2;
    /// Create (`Tlcreate` implies it).
    pub const CREATE: u32 = 0o100;
    /// Fail if it exists.
    pub const EXCLUSIVE: u32 = 0o200;
}

/// A request, as the client makes it.
#[allow(
    missing_docs,
    reason = "the fields are the protocol's, named as the 9P2000.L specification names them"
)]
pub enum Request<'a> {
    /// Negotiate: the largest message the client takes.
    Version { msize: u32 },
    /// Attach `fid` to the tree `aname` as `uname`.
    Attach {
        fid: u32,
        uname: &'a str,
        aname: &'a str,
    },
    /// Walk `names` from `fid` to `new_fid` (no names: a clone).
    Walk {
        fid: u32,
        new_fid: u32,
        names: &'a [&'a str],
    },
    /// Open `fid` with `flags`.
    Lopen { fid: u32, flags: u32 },
    /// Create `name` in the directory `fid` and open it (the fid becomes the file).
    Lcreate {
        fid: u32,
        name: &'a str,
        flags: u32,
        mode: u32,
    },
    /// Read `count` bytes at `offset`.
    Read { fid: u32, offset: u64, count: u32 },
    /// Write `data` at `offset`.
    Write {
        fid: u32,
        offset: u64,
        data: &'a [u8],
    },
    /// Forget `fid`.
    Clunk { fid: u32 },
    /// Read attributes.
    Getattr { fid: u32 },
    /// Set the size.
    SetSize { fid: u32, size: u64 },
    /// Read directory entries from `offset` (a cookie of the last entry).
    Readdir { fid: u32, offset: u64, count: u32 },
    /// Flush the file.
    Fsync { fid: u32 },
    /// Make the directory `name` in `fid`.
    Mkdir { fid: u32, name: &'a str, mode: u32 },
    /// Remove `name` from the directory `fid`.
    Unlinkat { fid: u32, name: &'a str, flags: u32 },
}

/// Appends little-endian fields and strings to a message.
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }
    fn u16(&mut self, value: u16) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn string(&mut self, text: &str) -> Result<()> {
        self.u16(u16::try_from(text.len()).map_err(|_| Status::INVALID_NAME)?);
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

impl Request<'_> {
    /// The message's type.
    pub fn kind(&self) -> u8 {
        match self {
            Request::Version { .. } => kind::TVERSION,
            Request::Attach { .. } => kind::TATTACH,
            Request::Walk { .. } => kind::TWALK,
            Request::Lopen { .. } => kind::TLOPEN,
            Request::Lcreate { .. } => kind::TLCREATE,
            Request::Read { .. } => kind::TREAD,
            Request::Write { .. } => kind::TWRITE,
            Request::Clunk { .. } => kind::TCLUNK,
            Request::Getattr { .. } => kind::TGETATTR,
            Request::SetSize { .. } => kind::TSETATTR,
            Request::Readdir { .. } => kind::TREADDIR,
            Request::Fsync { .. } => kind::TFSYNC,
            Request::Mkdir { .. } => kind::TMKDIR,
            Request::Unlinkat { .. } => kind::TUNLINKAT,
        }
    }

    /// The message, tagged `tag`, into `out` (cleared first).
    pub fn encode(&self, tag: u16, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        let mut w = Writer(core::mem::take(out));
        w.u32(0);
        w.u8(self.kind());
        w.u16(tag);
        match *self {
            Request::Version { msize } => {
                w.u32(msize);
                w.string(VERSION)?;
            }
            Request::Attach { fid, uname, aname } => {
                w.u32(fid);
                w.u32(NO_FID);
                w.string(uname)?;
                w.string(aname)?;
                w.u32(NO_FID);
            }
            Request::Walk {
                fid,
                new_fid,
                names,
            } => {
                w.u32(fid);
                w.u32(new_fid);
                w.u16(u16::try_from(names.len()).map_err(|_| Status::INVALID_NAME)?);
                for name in names {
                    w.string(name)?;
                }
            }
            Request::Lopen { fid, flags } => {
                w.u32(fid);
                w.u32(flags);
            }
            Request::Lcreate {
                fid,
                name,
                flags,
                mode,
            } => {
                w.u32(fid);
                w.string(name)?;
                w.u32(flags);
                w.u32(mode);
                w.u32(0);
            }
            Request::Read { fid, offset, count } | Request::Readdir { fid, offset, count } => {
                w.u32(fid);
                w.u64(offset);
                w.u32(count);
            }
            Request::Write { fid, offset, data } => {
                w.u32(fid);
                w.u64(offset);
                w.u32(u32::try_from(data.len()).map_err(|_| Status::OUT_OF_RANGE)?);
                w.0.extend_from_slice(data);
            }
            Request::Clunk { fid } | Request::Fsync { fid } => {
                w.u32(fid);
                if matches!(self, Request::Fsync { .. }) {
                    // datasync: 0, a full sync.
                    w.u32(0);
                }
            }
            Request::Getattr { fid } => {
                w.u32(fid);
                w.u64(GETATTR_BASIC);
            }
            Request::SetSize { fid, size } => {
                w.u32(fid);
                w.u32(SETATTR_SIZE);
                // mode, uid, gid, size, atime (sec, nsec), mtime (sec, nsec)
                w.u32(0);
                w.u32(0);
                w.u32(0);
                w.u64(size);
                for _ in 0..4 {
                    w.u64(0);
                }
            }
            Request::Mkdir { fid, name, mode } => {
                w.u32(fid);
                w.string(name)?;
                w.u32(mode);
                w.u32(0);
            }
            Request::Unlinkat { fid, name, flags } => {
                w.u32(fid);
                w.string(name)?;
                w.u32(flags);
            }
        }
        let size = u32::try_from(w.0.len()).map_err(|_| Status::OUT_OF_RANGE)?;
        w.0[..4].copy_from_slice(&size.to_le_bytes());
        *out = w.0;
        Ok(())
    }
}

/// The status for a Linux errno in `Rlerror`.
pub fn errno_status(errno: u32) -> Status {
    match errno {
        2 => Status::NOT_FOUND,               // ENOENT
        1 | 13 | 30 => Status::ACCESS_DENIED, // EPERM, EACCES, EROFS
        17 => Status::ALREADY_EXISTS,         // EEXIST
        20..=22 => Status::INVALID_ARGUMENT,  // ENOTDIR, EISDIR, EINVAL
        28 | 122 => Status::DISK_FULL,        // ENOSPC, EDQUOT
        36 => Status::INVALID_NAME,           // ENAMETOOLONG
        39 => Status::NOT_EMPTY,              // ENOTEMPTY
        12 => Status::OUT_OF_MEMORY,          // ENOMEM
        95 => Status::NOT_SUPPORTED,          // EOPNOTSUPP
        _ => Status::FAILED,
    }
}
