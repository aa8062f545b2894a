//! Replies: read from the bytes the server sent, every length checked.

use alloc::vec::Vec;

use com::{Result, Status};

use crate::{HEADER, errno_status, kind};

/// A file's identity on the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Qid {
    /// Its type: bit 7 for a directory.
    pub kind: u8,
    /// Its version.
    pub version: u32,
    /// Its unique number.
    pub path: u64,
}

impl Qid {
    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.kind & 0x80 != 0
    }
}

/// A decoded reply.
#[derive(Debug, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "the fields are the protocol's, named as the 9P2000.L specification names them"
)]
pub enum Reply<'a> {
    /// `Rversion`: the message size and version the server takes.
    Version { msize: u32, version: &'a str },
    /// `Rattach`.
    Attach { qid: Qid },
    /// `Rwalk`: how many names were walked, and the last one's qid.
    Walk { walked: u16, last: Option<Qid> },
    /// `Rlopen` and `Rlcreate`.
    Open { qid: Qid, iounit: u32 },
    /// `Rread`.
    Read { data: &'a [u8] },
    /// `Rwrite`.
    Write { count: u32 },
    /// `Rgetattr`: what the client uses of it.
    Getattr { qid: Qid, mode: u32, size: u64 },
    /// `Rreaddir`: entries, read with [`decode_entries`].
    Readdir { data: &'a [u8] },
    /// `Rmkdir`.
    Mkdir { qid: Qid },
    /// The replies with an empty body: `Rclunk`, `Rsetattr`, `Rfsync`,
    /// `Runlinkat`.
    Done,
}

/// Reads little-endian fields from a message, in bounds or `BAD_IMAGE`.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(count).ok_or(Status::BAD_IMAGE)?;
        let taken = self.bytes.get(self.at..end).ok_or(Status::BAD_IMAGE)?;
        self.at = end;
        Ok(taken)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| Status::BAD_IMAGE)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn string(&mut self) -> Result<&'a str> {
        let length = usize::from(self.u16()?);
        core::str::from_utf8(self.take(length)?).map_err(|_| Status::BAD_IMAGE)
    }
    fn qid(&mut self) -> Result<Qid> {
        Ok(Qid {
            kind: self.u8()?,
            version: self.u32()?,
            path: self.u64()?,
        })
    }
    fn skip(&mut self, count: usize) -> Result<()> {
        self.take(count).map(drop)
    }
    /// The bytes not read yet.
    fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        self.at = self.bytes.len();
        rest
    }
    fn finished(&self) -> Result<()> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(Status::BAD_IMAGE)
        }
    }
}

impl<'a> Reply<'a> {
    /// Reads `message` as the reply to a request of type `request` tagged
    /// `tag`: its size must be the message's, its tag the request's and
    /// its type the request's reply (an `Rlerror` becomes the status of
    /// its errno); `BAD_IMAGE` for anything malformed.
    pub fn decode(message: &'a [u8], tag: u16, request: u8) -> Result<Reply<'a>> {
        let mut reader = Reader {
            bytes: message,
            at: 0,
        };
        let size = reader.u32()?;
        if usize::try_from(size).ok() != Some(message.len()) || message.len() < HEADER {
            return Err(Status::BAD_IMAGE);
        }
        let kind = reader.u8()?;
        if reader.u16()? != tag {
            return Err(Status::BAD_IMAGE);
        }
        if kind == kind::RLERROR {
            let errno = reader.u32()?;
            reader.finished()?;
            return Err(errno_status(errno));
        }
        if Some(kind) != request.checked_add(1) {
            return Err(Status::BAD_IMAGE);
        }
        let reply = match request {
            kind::TVERSION => Reply::Version {
                msize: reader.u32()?,
                version: reader.string()?,
            },
            kind::TATTACH => Reply::Attach { qid: reader.qid()? },
            kind::TWALK => {
                let walked = reader.u16()?;
                let mut last = None;
                for _ in 0..walked {
                    last = Some(reader.qid()?);
                }
                Reply::Walk { walked, last }
            }
            kind::TLOPEN | kind::TLCREATE => Reply::Open {
                qid: reader.qid()?,
                iounit: reader.u32()?,
            },
            kind::TREAD | kind::TREADDIR => {
                let count = usize::try_from(reader.u32()?).map_err(|_| Status::BAD_IMAGE)?;
                let data = reader.take(count)?;
                if request == kind::TREAD {
                    Reply::Read { data }
                } else {
                    Reply::Readdir { data }
                }
            }
            kind::TWRITE => Reply::Write {
                count: reader.u32()?,
            },
            kind::TGETATTR => {
                let _valid = reader.u64()?;
                let qid = reader.qid()?;
                let mode = reader.u32()?;
                // uid, gid, nlink, rdev
                reader.skip(4 + 4 + 8 + 8)?;
                let size = reader.u64()?;
                // blksize, blocks, four times, gen, data_version
                reader.skip(8 + 8 + 4 * 16 + 8 + 8)?;
                Reply::Getattr { qid, mode, size }
            }
            kind::TMKDIR => Reply::Mkdir { qid: reader.qid()? },
            kind::TCLUNK | kind::TSETATTR | kind::TFSYNC | kind::TUNLINKAT => Reply::Done,
            _ => {
                reader.rest();
                return Err(Status::NOT_SUPPORTED);
            }
        };
        reader.finished()?;
        Ok(reply)
    }
}

/// One entry of an `Rreaddir`.
#[derive(Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Its qid.
    pub qid: Qid,
    /// The cookie to read on from, after it.
    pub offset: u64,
    /// Its name.
    pub name: &'a str,
}

/// The entries in an `Rreaddir`'s data.
pub fn decode_entries(data: &[u8]) -> Result<Vec<DirEntry<'_>>> {
    let mut reader = Reader { bytes: data, at: 0 };
    let mut entries = Vec::new();
    while reader.at < data.len() {
        let qid = reader.qid()?;
        let offset = reader.u64()?;
        let _kind = reader.u8()?;
        let name = reader.string()?;
        entries.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
        entries.push(DirEntry { qid, offset, name });
    }
    Ok(entries)
}
