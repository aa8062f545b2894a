//! 9P2000.L replies: any bytes decoded as the reply to each request type,
//! and as directory entries. Errors are fine; a crash is not.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ninep::{Reply, decode_entries, kind};

const REQUESTS: [u8; 14] = [
    kind::TVERSION,
    kind::TATTACH,
    kind::TWALK,
    kind::TLOPEN,
    kind::TLCREATE,
    kind::TREAD,
    kind::TWRITE,
    kind::TCLUNK,
    kind::TGETATTR,
    kind::TSETATTR,
    kind::TREADDIR,
    kind::TFSYNC,
    kind::TMKDIR,
    kind::TUNLINKAT,
];

fuzz_target!(|data: &[u8]| {
    let tag = data
        .get(5..7)
        .map_or(0, |bytes| u16::from_le_bytes([bytes[0], bytes[1]]));
    for request in REQUESTS {
        if let Ok(Reply::Readdir { data } | Reply::Read { data }) =
            Reply::decode(data, tag, request)
        {
            let _ = decode_entries(data);
        }
    }
    let _ = decode_entries(data);
});
