//! The 9P2000.L client: one request in flight at a time over the virtio
//! transport, and the operations the namespace objects make of requests,
//! each by path from the attached root.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use com::{Result, Status};
use file_tree::Kind;
use ninep::{DirEntry, Reply, Request, decode_entries, open};
use virtio_drivers::device::virtio_9p::VirtIO9p;
use virtio_hal::{AnsweredTransport, TesseraHal};

/// The message size the client asks for (the server may give less, but
/// not under the 4096 QEMU needs).
const MSIZE: u32 = 64 * 1024 + ninep::READ_OVERHEAD;
/// The smallest message size the client works with.
const MIN_MSIZE: u32 = 4096;
/// The root's fid.
const ROOT: u32 = 0;
/// Most names one `Twalk` may carry.
const MAX_WALK: usize = 16;
/// Modes of what the client creates.
const FILE_MODE: u32 = 0o644;
const DIRECTORY_MODE: u32 = 0o755;

/// The client, attached to the host's directory.
pub struct Client {
    device: VirtIO9p<TesseraHal, AnsweredTransport>,
    msize: u32,
    request: Vec<u8>,
    reply: Vec<u8>,
    next_fid: u32,
    tag: u16,
}

impl Client {
    /// Negotiates the version and attaches to the served tree.
    pub fn attach(device: VirtIO9p<TesseraHal, AnsweredTransport>) -> Result<Client> {
        let mut client = Client {
            device,
            msize: MSIZE,
            request: Vec::new(),
            reply: vec![0u8; MSIZE as usize],
            next_fid: ROOT + 1,
            tag: 0,
        };
        let msize = match client.call_tagged(&Request::Version { msize: MSIZE }, ninep::NO_TAG)? {
            Reply::Version { msize, version } if version == ninep::VERSION => msize,
            _ => return Err(Status::NOT_SUPPORTED),
        };
        if !(MIN_MSIZE..=MSIZE).contains(&msize) {
            return Err(Status::NOT_SUPPORTED);
        }
        client.msize = msize;
        client.call(&Request::Attach {
            fid: ROOT,
            uname: "tessera",
            aname: "",
        })?;
        Ok(client)
    }

    /// Sends `request` and reads its reply.
    fn call(&mut self, request: &Request<'_>) -> Result<Reply<'_>> {
        self.tag = (self.tag + 1) % ninep::NO_TAG;
        self.call_tagged(request, self.tag)
    }

    fn call_tagged(&mut self, request: &Request<'_>, tag: u16) -> Result<Reply<'_>> {
        request.encode(tag, &mut self.request)?;
        let length = self
            .device
            .request(&self.request, &mut self.reply)
            .map_err(virtio_hal::status)?;
        let reply = self
            .reply
            .get(..usize::try_from(length).map_err(|_| Status::BAD_IMAGE)?)
            .ok_or(Status::BAD_IMAGE)?;
        Reply::decode(reply, tag, request.kind())
    }

    /// A new fid for `path` (its names, from the root); `NOT_FOUND` if a
    /// name is missing.
    fn walk(&mut self, path: &str) -> Result<u32> {
        let names: Vec<&str> = path.split('/').filter(|name| !name.is_empty()).collect();
        let fid = self.next_fid;
        self.next_fid = self.next_fid.wrapping_add(1).max(ROOT + 1);
        let mut from = ROOT;
        let mut chunks = names.chunks(MAX_WALK).peekable();
        if chunks.peek().is_none() {
            self.call(&Request::Walk {
                fid: ROOT,
                new_fid: fid,
                names: &[],
            })?;
            return Ok(fid);
        }
        for chunk in chunks {
            let walked = match self.call(&Request::Walk {
                fid: from,
                new_fid: fid,
                names: chunk,
            }) {
                Ok(Reply::Walk { walked, .. }) => usize::from(walked),
                Ok(_) => Err(Status::BAD_IMAGE)?,
                Err(status) => {
                    if from == fid {
                        self.clunk(fid);
                    }
                    return Err(status);
                }
            };
            if walked != chunk.len() {
                if from == fid {
                    self.clunk(fid);
                }
                return Err(Status::NOT_FOUND);
            }
            from = fid;
        }
        Ok(fid)
    }

    /// Forgets `fid` (a failure leaves nothing to do).
    fn clunk(&mut self, fid: u32) {
        let _ = self.call(&Request::Clunk { fid });
    }

    /// Runs `operation` on a fid of `path`, then forgets the fid.
    fn with_fid<T>(
        &mut self,
        path: &str,
        operation: impl FnOnce(&mut Client, u32) -> Result<T>,
    ) -> Result<T> {
        let fid = self.walk(path)?;
        let result = operation(self, fid);
        self.clunk(fid);
        result
    }

    /// What `path` is.
    pub fn kind(&mut self, path: &str) -> Result<Kind> {
        self.with_fid(path, |client, fid| {
            match client.call(&Request::Getattr { fid })? {
                Reply::Getattr { qid, .. } if qid.is_dir() => Ok(Kind::Directory),
                Reply::Getattr { size, .. } => Ok(Kind::File(size)),
                _ => Err(Status::BAD_IMAGE),
            }
        })
    }

    /// The names in the directory `path`, without `.` and `..`.
    pub fn list(&mut self, path: &str) -> Result<Vec<String>> {
        self.with_fid(path, |client, fid| {
            client.call(&Request::Lopen {
                fid,
                flags: open::READ,
            })?;
            let count = client.msize - ninep::READ_OVERHEAD;
            let mut names = Vec::new();
            let mut offset = 0;
            loop {
                let Reply::Readdir { data } =
                    client.call(&Request::Readdir { fid, offset, count })?
                else {
                    return Err(Status::BAD_IMAGE);
                };
                let entries = decode_entries(data)?;
                let Some(last) = entries.last() else {
                    return Ok(names);
                };
                offset = last.offset;
                for DirEntry { name, .. } in entries {
                    if name != "." && name != ".." {
                        names.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
                        names.push(String::from(name));
                    }
                }
            }
        })
    }

    /// Reads from `offset` of the file `path` into `buffer`.
    pub fn read(&mut self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.with_fid(path, |client, fid| {
            client.call(&Request::Lopen {
                fid,
                flags: open::READ,
            })?;
            let most = (client.msize - ninep::READ_OVERHEAD) as usize;
            let mut done = 0;
            while done < buffer.len() {
                let count = u32::try_from((buffer.len() - done).min(most))
                    .map_err(|_| Status::OUT_OF_RANGE)?;
                let Reply::Read { data } = client.call(&Request::Read {
                    fid,
                    offset: offset + done as u64,
                    count,
                })?
                else {
                    return Err(Status::BAD_IMAGE);
                };
                if data.is_empty() {
                    break;
                }
                let target = buffer
                    .get_mut(done..done + data.len())
                    .ok_or(Status::BAD_IMAGE)?;
                target.copy_from_slice(data);
                done += data.len();
            }
            Ok(done)
        })
    }

    /// Writes `data` at `offset` of the file `path`.
    pub fn write(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<usize> {
        self.with_fid(path, |client, fid| {
            client.call(&Request::Lopen {
                fid,
                flags: open::READ_WRITE,
            })?;
            let most = (client.msize - ninep::WRITE_OVERHEAD) as usize;
            let mut done = 0;
            while done < data.len() {
                let piece = &data[done..data.len().min(done + most)];
                let Reply::Write { count } = client.call(&Request::Write {
                    fid,
                    offset: offset + done as u64,
                    data: piece,
                })?
                else {
                    return Err(Status::BAD_IMAGE);
                };
                let count = usize::try_from(count).map_err(|_| Status::BAD_IMAGE)?;
                if count == 0 || count > piece.len() {
                    return Err(Status::DISK_FULL);
                }
                done += count;
            }
            Ok(done)
        })
    }

    /// Makes the file `path` `size` bytes long.
    pub fn set_size(&mut self, path: &str, size: u64) -> Result<()> {
        self.with_fid(path, |client, fid| {
            client.call(&Request::SetSize { fid, size }).map(drop)
        })
    }

    /// Asks the host to put the file `path` on its disk.
    pub fn flush(&mut self, path: &str) -> Result<()> {
        self.with_fid(path, |client, fid| {
            client.call(&Request::Lopen {
                fid,
                flags: open::READ,
            })?;
            client.call(&Request::Fsync { fid }).map(drop)
        })
    }

    /// Creates the empty file `name` in the directory `directory`.
    pub fn create_file(&mut self, directory: &str, name: &str) -> Result<()> {
        self.with_fid(directory, |client, fid| {
            client
                .call(&Request::Lcreate {
                    fid,
                    name,
                    flags: open::READ_WRITE | open::CREATE | open::EXCLUSIVE,
                    mode: FILE_MODE,
                })
                .map(drop)
        })
    }

    /// Creates the directory `name` in `directory`.
    pub fn create_directory(&mut self, directory: &str, name: &str) -> Result<()> {
        self.with_fid(directory, |client, fid| {
            client
                .call(&Request::Mkdir {
                    fid,
                    name,
                    mode: DIRECTORY_MODE,
                })
                .map(drop)
        })
    }

    /// Removes the file or empty directory `name` from `directory`.
    pub fn remove(&mut self, directory: &str, name: &str) -> Result<()> {
        let child = alloc::format!("{directory}/{name}");
        let flags = match self.kind(&child)? {
            Kind::Directory => ninep::AT_REMOVEDIR,
            Kind::File(_) => 0,
        };
        self.with_fid(directory, |client, fid| {
            client
                .call(&Request::Unlinkat { fid, name, flags })
                .map(drop)
        })
    }

    /// Forgets the root: nothing more can be asked.
    pub fn detach(&mut self) {
        self.clunk(ROOT);
    }
}
