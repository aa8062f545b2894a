//! Requests encode as the protocol says; replies decode, and malformed
//! ones are refused.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use com::Status;
use ninep::{DirEntry, Qid, Reply, Request, decode_entries, kind};

/// A reply of type `kind` with `tag` and `body`, sized.
fn reply(kind: u8, tag: u16, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend_from_slice(&((7 + body.len()) as u32).to_le_bytes());
    message.push(kind);
    message.extend_from_slice(&tag.to_le_bytes());
    message.extend_from_slice(body);
    message
}

fn qid_bytes(kind: u8, path: u64) -> Vec<u8> {
    let mut bytes = vec![kind];
    bytes.extend_from_slice(&7u32.to_le_bytes());
    bytes.extend_from_slice(&path.to_le_bytes());
    bytes
}

#[test]
fn version_and_walk_encode_as_the_protocol_says() {
    let mut out = Vec::new();
    Request::Version { msize: 8192 }
        .encode(ninep::NO_TAG, &mut out)
        .unwrap();
    let mut expected = vec![21, 0, 0, 0, 100, 0xff, 0xff, 0, 0x20, 0, 0, 8, 0];
    expected.extend_from_slice(b"9P2000.L");
    assert_eq!(out, expected);
    Request::Walk {
        fid: 1,
        new_fid: 2,
        names: &["a", "bc"],
    }
    .encode(5, &mut out)
    .unwrap();
    assert_eq!(
        out,
        [
            24, 0, 0, 0, 110, 5, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0, b'a', 2, 0, b'b', b'c'
        ]
    );
}

#[test]
fn replies_decode_and_errors_become_statuses() {
    let message = reply(
        101,
        0xffff,
        &[
            0, 16, 0, 0, 8, 0, b'9', b'P', b'2', b'0', b'0', b'0', b'.', b'L',
        ],
    );
    assert_eq!(
        Reply::decode(&message, 0xffff, kind::TVERSION).unwrap(),
        Reply::Version {
            msize: 4096,
            version: "9P2000.L"
        }
    );
    let message = reply(7, 3, &2u32.to_le_bytes());
    assert_eq!(
        Reply::decode(&message, 3, kind::TWALK),
        Err(Status::NOT_FOUND)
    );
    let mut body = 5u32.to_le_bytes().to_vec();
    body.extend_from_slice(b"hello");
    let message = reply(117, 9, &body);
    assert_eq!(
        Reply::decode(&message, 9, kind::TREAD).unwrap(),
        Reply::Read { data: b"hello" }
    );
}

#[test]
fn malformed_replies_are_bad_images() {
    let good = reply(117, 9, &[2, 0, 0, 0, b'h', b'i']);
    // A size that is not the message's.
    let mut wrong_size = good.clone();
    wrong_size[0] = 99;
    // A count past the end.
    let mut long_count = good.clone();
    long_count[7] = 200;
    // Another tag, another type, bytes left over, cut short.
    let other_tag = reply(117, 8, &[2, 0, 0, 0, b'h', b'i']);
    let other_type = reply(119, 9, &[2, 0, 0, 0]);
    let left_over = reply(117, 9, &[1, 0, 0, 0, b'h', b'i']);
    for message in [wrong_size, long_count, other_tag, other_type, left_over] {
        assert_eq!(
            Reply::decode(&message, 9, kind::TREAD),
            Err(Status::BAD_IMAGE),
            "{message:?}"
        );
    }
    for length in 0..good.len() {
        assert!(Reply::decode(&good[..length], 9, kind::TREAD).is_err());
    }
}

#[test]
fn directory_entries_decode_one_after_another() {
    let mut data = Vec::new();
    for (index, name) in ["a", "sub"].iter().enumerate() {
        data.extend_from_slice(&qid_bytes(if index == 1 { 0x80 } else { 0 }, index as u64));
        data.extend_from_slice(&(index as u64 + 1).to_le_bytes());
        data.push(0);
        data.extend_from_slice(&(name.len() as u16).to_le_bytes());
        data.extend_from_slice(name.as_bytes());
    }
    let entries = decode_entries(&data).unwrap();
    assert_eq!(
        entries[1],
        DirEntry {
            qid: Qid {
                kind: 0x80,
                version: 7,
                path: 1
            },
            offset: 2,
            name: "sub"
        }
    );
    assert!(entries[1].qid.is_dir() && !entries[0].qid.is_dir());
    assert_eq!(
        decode_entries(&data[..data.len() - 1]),
        Err(Status::BAD_IMAGE)
    );
}
