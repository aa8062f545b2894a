//! Host tests: round trips through the packer and reader, and the reader's
//! behaviour on truncated, corrupted and hand-crafted hostile images.

#![allow(clippy::unwrap_used)]

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::format::{ENTRY_SIZE, HEADER_SIZE, KIND_DIR, KIND_FILE};
use crate::{Builder, Error, NameError, NodeKind, Region, RomFs};

// Byte offsets of header fields (see docs/romfs.md).
const VERSION_AT: usize = 8;
const TOTAL_SIZE_AT: usize = 12;
const TABLE_OFFSET_AT: usize = 16;
const ENTRY_COUNT_AT: usize = 20;
const NAMES_OFFSET_AT: usize = 24;
const DATA_OFFSET_AT: usize = 32;
const DATA_SIZE_AT: usize = 36;

// Byte offsets of fields within an entry.
const NAME_OFFSET_IN_ENTRY: usize = 0;
const KIND_IN_ENTRY: usize = 4;
const RESERVED_IN_ENTRY: usize = 5;
const FIRST_WORD_IN_ENTRY: usize = 8;
const SECOND_WORD_IN_ENTRY: usize = 12;

const UART_IMAGE: [u8; 100] = {
    let mut bytes = [0; 100];
    let (mut i, mut value) = (0, 3u8);
    while i < bytes.len() {
        bytes[i] = value;
        value = value.wrapping_add(7);
        i += 1;
    }
    bytes
};

/// The files of the sample tree: nested directories, odd sizes (so padding
/// matters), an empty file and non-ASCII names.
const SAMPLE_FILES: &[(&str, &[u8])] = &[
    ("bin/shell", b"shell, 13 b.\n"),
    ("bin/uart.cmp", &UART_IMAGE),
    ("etc/empty", b""),
    ("etc/motd", b"welcome to Tessera\n"),
    ("lib/a/b/c/deep.bin", b"deep data"),
    ("lib/a/z", b"z"),
    ("readme", b"read me"),
    ("\u{fc}n\u{ef}code/\u{540d}\u{524d}", b"\xe5\x90\x8d"),
];

/// Empty directories of the sample tree.
const SAMPLE_DIRS: &[&str] = &["mnt", "lib/a/b/empty_dir"];

/// Every path of the sample tree, directories included, plus some that are
/// not there: what the corruption tests look up.
const PROBE_PATHS: &[&str] = &[
    "",
    "/",
    "bin",
    "etc",
    "lib",
    "lib/a",
    "lib/a/b",
    "lib/a/b/c",
    "mnt",
    "missing",
    "readme/x",
    "lib/a/b/empty_dir",
    "lib/a/b/c/deep.bin",
    "/bin/shell",
];

fn sample_builder() -> Builder {
    let mut builder = Builder::new();
    for (path, data) in SAMPLE_FILES {
        builder.add_file(path, data).unwrap();
    }
    for path in SAMPLE_DIRS {
        builder.add_dir(path).unwrap();
    }
    builder
}

fn sample_image() -> Vec<u8> {
    sample_builder().build()
}

fn read_u32(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

fn write_u32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn entry_at(index: usize) -> usize {
    HEADER_SIZE + index * ENTRY_SIZE
}

/// Index of the (first) entry called `name`, found by reading the raw table.
fn find_entry(image: &[u8], name: &str) -> usize {
    let count = read_u32(image, ENTRY_COUNT_AT) as usize;
    (0..count)
        .find(|&index| {
            let offset = read_u32(image, entry_at(index) + NAME_OFFSET_IN_ENTRY) as usize;
            let len = usize::from(image[offset]);
            &image[offset + 1..offset + 1 + len] == name.as_bytes()
        })
        .unwrap()
}

/// Walks the whole tree, checking on the way that an accepted image is
/// consistent: every entry decodes, names are sorted, and the walk meets
/// each entry exactly once. Returns the path and kind of every node.
fn walk(fs: &RomFs<'_>) -> Vec<(String, NodeKind)> {
    let mut found = Vec::new();
    let mut pending = alloc::vec![(String::new(), fs.root())];
    while let Some((path, dir)) = pending.pop() {
        assert!(
            found.len() <= fs.entry_count() as usize,
            "walk revisits entries"
        );
        let mut previous: Option<&str> = None;
        for child in dir.entries() {
            let child = child.expect("a parsed image decodes every entry");
            assert!(previous < Some(child.name()), "children out of order");
            previous = Some(child.name());
            let child_path = alloc::format!("{path}/{}", child.name());
            found.push((child_path.clone(), child.kind()));
            if let Some(sub) = child.as_dir() {
                pending.push((child_path, sub));
            }
        }
    }
    assert_eq!(
        found.len() + 1,
        fs.entry_count() as usize,
        "every entry once"
    );
    found
}

/// Parses `image` and, if that succeeds, walks it and looks every probe path
/// up. Must return (not panic, not hang) whatever the bytes are.
fn parse_and_exercise(image: &[u8]) -> Result<(), Error> {
    let fs = RomFs::parse(image)?;
    walk(&fs);
    for path in PROBE_PATHS
        .iter()
        .chain(SAMPLE_FILES.iter().map(|(path, _)| path))
    {
        if let Ok(node) = fs.lookup(path) {
            // A file's data is part of the image: reading it cannot fail.
            let _ = node
                .data()
                .iter()
                .fold(0u8, |sum, byte| sum.wrapping_add(*byte));
        }
    }
    Ok(())
}

mod round_trip {
    use super::*;

    #[test]
    fn every_file_reads_back_byte_for_byte() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        for (path, data) in SAMPLE_FILES {
            for spelled in [path.to_string(), alloc::format!("/{path}")] {
                let node = fs.lookup(&spelled).unwrap();
                assert_eq!(node.kind(), NodeKind::File, "{spelled}");
                assert_eq!(node.data(), *data, "{spelled}");
                assert_eq!(node.name(), path.rsplit('/').next().unwrap());
            }
        }
    }

    #[test]
    fn file_data_is_aligned_within_the_image() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        for (path, _) in SAMPLE_FILES {
            let data = fs.lookup(path).unwrap().data();
            let offset = data.as_ptr() as usize - image.as_ptr() as usize;
            assert_eq!(offset % crate::DATA_ALIGN, 0, "{path} at {offset}");
        }
        assert_eq!(image.len() % crate::DATA_ALIGN, 0);
    }

    #[test]
    fn walk_finds_exactly_the_tree_that_was_packed() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        let mut files: Vec<String> = walk(&fs)
            .into_iter()
            .filter(|(_, kind)| *kind == NodeKind::File)
            .map(|(path, _)| path)
            .collect();
        files.sort();
        let mut expected: Vec<String> = SAMPLE_FILES
            .iter()
            .map(|(path, _)| alloc::format!("/{path}"))
            .collect();
        expected.sort();
        assert_eq!(files, expected);
        assert_eq!(fs.entry_count(), 18);
    }

    fn child_names(fs: &RomFs<'_>, path: &str) -> Vec<String> {
        let dir = fs.lookup(path).unwrap().as_dir().unwrap();
        dir.entries()
            .map(|node| node.unwrap().name().to_string())
            .collect()
    }

    #[test]
    fn directories_list_children_in_name_order() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(
            child_names(&fs, "/"),
            ["bin", "etc", "lib", "mnt", "readme", "\u{fc}n\u{ef}code"]
        );
        assert_eq!(child_names(&fs, "bin"), ["shell", "uart.cmp"]);
        assert_eq!(child_names(&fs, "etc"), ["empty", "motd"]);
        assert_eq!(child_names(&fs, "lib/a"), ["b", "z"]);
        assert_eq!(child_names(&fs, "/lib/a/b"), ["c", "empty_dir"]);
        assert!(child_names(&fs, "mnt").is_empty());
        let root = fs.root();
        assert_eq!(root.child_count(), 6);
        assert_eq!(root.entries().size_hint(), (6, Some(6)));
        assert!(
            fs.lookup("lib/a/b/empty_dir")
                .unwrap()
                .as_dir()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn root_is_found_by_empty_path_and_slash() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        for path in ["", "/"] {
            let root = fs.lookup(path).unwrap();
            assert!(root.is_dir());
            assert_eq!(root.name(), "");
            assert!(root.data().is_empty());
        }
    }

    #[test]
    fn child_finds_each_entry_and_only_those() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        let root = fs.root();
        for name in ["bin", "etc", "lib", "mnt", "readme"] {
            assert_eq!(root.child(name).unwrap().name(), name);
        }
        // Names that sort before, between and after the real ones.
        for name in ["a", "c", "zzz", "readmf", "\u{ff}"] {
            assert_eq!(root.child(name).unwrap_err(), Error::NotFound, "{name}");
        }
        assert!(root.child("readme").unwrap().is_file());
    }

    #[test]
    fn bisection_finds_every_child_of_a_large_directory() {
        let mut builder = Builder::new();
        // Even numbers only, so that the odd ones fall between entries.
        for n in (0..300).step_by(2) {
            builder
                .add_file(&alloc::format!("big/{n:03}"), n.to_string().as_bytes())
                .unwrap();
        }
        let image = builder.build();
        let fs = RomFs::parse(&image).unwrap();
        let big = fs.lookup("big").unwrap().as_dir().unwrap();
        assert_eq!(big.child_count(), 150);
        for n in 0..300 {
            let name = alloc::format!("{n:03}");
            match big.child(&name) {
                Ok(node) => assert_eq!(node.data(), n.to_string().as_bytes()),
                Err(error) => assert!(n % 2 == 1 && error == Error::NotFound, "{name}"),
            }
        }
    }

    #[test]
    fn bad_lookups_say_why() {
        let image = sample_image();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(fs.lookup("nope").unwrap_err(), Error::NotFound);
        assert_eq!(fs.lookup("bin/nope").unwrap_err(), Error::NotFound);
        assert_eq!(fs.lookup("readme/x").unwrap_err(), Error::NotADirectory);
        let empty = Error::InvalidName(NameError::Empty);
        assert_eq!(fs.lookup("bin//shell").unwrap_err(), empty);
        assert_eq!(fs.lookup("bin/").unwrap_err(), empty);
        assert_eq!(fs.lookup("//").unwrap_err(), empty);
        let dots = Error::InvalidName(NameError::DotOrDotDot);
        assert_eq!(fs.lookup("./readme").unwrap_err(), dots);
        assert_eq!(fs.lookup("bin/../readme").unwrap_err(), dots);
        assert_eq!(
            fs.root().child("bin/shell").unwrap_err(),
            Error::InvalidName(NameError::ContainsSlash)
        );
    }

    #[test]
    fn image_is_independent_of_insertion_order() {
        let mut reversed = Builder::new();
        for path in SAMPLE_DIRS.iter().rev() {
            reversed.add_dir(path).unwrap();
        }
        for (path, data) in SAMPLE_FILES.iter().rev() {
            reversed.add_file(path, data).unwrap();
        }
        assert_eq!(reversed.build(), sample_image());
    }

    #[test]
    fn empty_builder_gives_a_lone_root() {
        let image = Builder::new().build();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(fs.entry_count(), 1);
        assert!(fs.root().is_empty());
        assert_eq!(fs.lookup("x").unwrap_err(), Error::NotFound);
    }

    #[test]
    fn bytes_after_the_image_are_ignored() {
        let image = sample_image();
        let mut padded = image.clone();
        padded.extend_from_slice(&[0xAA; 13]);
        let fs = RomFs::parse(&padded).unwrap();
        assert_eq!(fs.image(), &image[..]);
        assert_eq!(fs.lookup("readme").unwrap().data(), b"read me");
    }

    #[test]
    fn longest_name_round_trips() {
        let name = "n".repeat(crate::MAX_NAME_LEN);
        let mut builder = Builder::new();
        builder.add_file(&alloc::format!("d/{name}"), b"x").unwrap();
        let image = builder.build();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(fs.lookup(&alloc::format!("d/{name}")).unwrap().data(), b"x");
    }

    #[test]
    fn size_bound_covers_the_built_image() {
        let builders = [Builder::new(), sample_builder(), {
            let mut many = Builder::new();
            for i in 0..50 {
                many.add_file(&alloc::format!("d{}/f{i}", i % 7), &[1; 9][..i % 9])
                    .unwrap();
            }
            many
        }];
        for builder in builders {
            let bound = builder.size_bound();
            let len = builder.build().len() as u64;
            assert!(len <= bound, "{len} > {bound}");
        }
    }
}

mod packer_rules {
    use super::*;

    #[test]
    fn bad_names_are_refused() {
        let mut builder = Builder::new();
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("/", NameError::Empty),
            ("a//b", NameError::Empty),
            ("a/", NameError::Empty),
            ("//a", NameError::Empty),
            (".", NameError::DotOrDotDot),
            ("./a", NameError::DotOrDotDot),
            ("a/../b", NameError::DotOrDotDot),
        ];
        for (path, reason) in cases {
            assert_eq!(
                builder.add_file(path, b"x"),
                Err(Error::InvalidName(*reason)),
                "{path:?}"
            );
            assert_eq!(
                builder.add_dir(path),
                Err(Error::InvalidName(*reason)),
                "{path:?}"
            );
        }
        let long = "n".repeat(crate::MAX_NAME_LEN + 1);
        assert_eq!(
            builder.add_file(&alloc::format!("d/{long}"), b""),
            Err(Error::InvalidName(NameError::TooLong { len: 256 }))
        );
        assert_eq!(builder.build(), Builder::new().build(), "nothing was added");
    }

    #[test]
    fn conflicts_are_refused() {
        let mut builder = Builder::new();
        builder.add_file("d/f", b"1").unwrap();
        assert_eq!(builder.add_file("d/f", b"2"), Err(Error::AlreadyExists));
        assert_eq!(builder.add_file("/d/f", b"2"), Err(Error::AlreadyExists));
        assert_eq!(builder.add_file("d", b"2"), Err(Error::AlreadyExists));
        assert_eq!(builder.add_dir("d/f"), Err(Error::AlreadyExists));
        assert_eq!(builder.add_file("d/f/g", b"2"), Err(Error::NotADirectory));
        assert_eq!(builder.add_dir("d/f/g/h"), Err(Error::NotADirectory));
        // An existing directory is fine for `add_dir`, like `mkdir -p`.
        assert_eq!(builder.add_dir("d"), Ok(()));
        let image = builder.build();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(fs.lookup("d/f").unwrap().data(), b"1");
        assert_eq!(fs.entry_count(), 3);
    }

    #[test]
    fn failed_calls_leave_the_builder_unchanged() {
        let mut builder = sample_builder();
        assert!(builder.add_file("readme/new/file", b"x").is_err());
        assert!(builder.add_file("bin/shell", b"x").is_err());
        assert!(builder.add_file("new/../x", b"x").is_err());
        assert!(builder.add_dir("readme/sub").is_err());
        assert_eq!(builder.build(), sample_image());
    }

    #[test]
    fn images_past_the_size_limit_are_refused() {
        let mut builder = Builder::with_size_limit(200);
        builder.add_file("small", &[7; 16]).unwrap();
        let before = builder.size_bound();
        assert_eq!(
            builder.add_file("deep/er/large", &[0; 200]),
            Err(Error::ImageTooLarge)
        );
        assert_eq!(builder.add_dir(&"d".repeat(200)), Err(Error::ImageTooLarge));
        assert_eq!(
            builder.size_bound(),
            before,
            "a refused call reserves nothing"
        );
        let image = builder.build();
        let fs = RomFs::parse(&image).unwrap();
        assert_eq!(fs.entry_count(), 2);
        assert_eq!(fs.lookup("deep").unwrap_err(), Error::NotFound);
    }
}

mod hostile_images {
    use super::*;

    /// The sample image with `corrupt` applied, parsed.
    fn parse_patched(corrupt: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        let mut image = sample_image();
        corrupt(&mut image);
        RomFs::parse(&image).map(|_| ())
    }

    #[test]
    fn every_truncation_is_refused() {
        let image = sample_image();
        for len in 0..image.len() {
            let result = parse_and_exercise(&image[..len]);
            assert!(result.is_err(), "truncated to {len} bytes was accepted");
        }
        assert_eq!(
            RomFs::parse(&image[..HEADER_SIZE - 1]).unwrap_err(),
            Error::Truncated {
                len: HEADER_SIZE - 1
            }
        );
    }

    #[test]
    fn truncation_with_a_matching_total_size_is_refused() {
        // A shorter image whose header agrees with its length: now the
        // region checks, not the total size check, have to catch it.
        let image = sample_image();
        for len in HEADER_SIZE..image.len() {
            let mut short = image[..len].to_vec();
            write_u32(&mut short, TOTAL_SIZE_AT, u32::try_from(len).unwrap());
            let result = parse_and_exercise(&short);
            assert!(
                matches!(result, Err(Error::RegionOutOfBounds { .. })),
                "{len}: {result:?}"
            );
        }
    }

    #[test]
    fn single_byte_corruptions_never_panic() {
        let image = sample_image();
        let data_start = read_u32(&image, DATA_OFFSET_AT) as usize;
        let mut rejected = 0;
        let mut accepted = 0;
        for position in 0..image.len() {
            let original = image[position];
            let variants = [
                original ^ 0x01,
                original ^ 0x80,
                !original,
                0x00,
                0xFF,
                original.wrapping_add(1),
                original.wrapping_sub(1),
            ];
            for value in variants.into_iter().filter(|value| *value != original) {
                let mut corrupt = image.clone();
                corrupt[position] = value;
                match parse_and_exercise(&corrupt) {
                    Ok(()) => accepted += 1,
                    Err(_) => rejected += 1,
                }
                if position >= data_start {
                    // File contents are opaque: changing them is no corruption.
                    assert!(RomFs::parse(&corrupt).is_ok(), "data byte {position}");
                }
                if position < VERSION_AT {
                    assert_eq!(RomFs::parse(&corrupt).unwrap_err(), Error::BadMagic);
                }
            }
        }
        assert!(rejected > 1000, "only {rejected} corruptions detected");
        assert!(accepted > 0);
    }

    #[test]
    fn random_multi_byte_corruptions_never_panic() {
        let image = sample_image();
        // xorshift64: deterministic, so a failure is reproducible.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Mostly hit the header, table and names, where the structure lives.
        let structure_end = read_u32(&image, DATA_OFFSET_AT) as usize;
        let mut rejected = 0;
        for _ in 0..20_000 {
            let mut corrupt = image.clone();
            for _ in 0..=(next() % 4) {
                let span = if next() % 4 == 0 {
                    corrupt.len()
                } else {
                    structure_end
                };
                let position = usize::try_from(next()).unwrap() % span;
                corrupt[position] = next().to_le_bytes()[0];
            }
            // `parse_and_exercise` asserts that accepted images are consistent.
            if parse_and_exercise(&corrupt).is_err() {
                rejected += 1;
            }
        }
        assert!(rejected > 10_000, "only {rejected} corruptions detected");
    }

    #[test]
    fn wrong_magic_or_version_is_refused() {
        assert_eq!(parse_patched(|image| image[3] = b'x'), Err(Error::BadMagic));
        assert_eq!(RomFs::parse(&[0; 64]).unwrap_err(), Error::BadMagic);
        for version in [0, 2, u32::MAX] {
            assert_eq!(
                parse_patched(|image| write_u32(image, VERSION_AT, version)),
                Err(Error::UnsupportedVersion { found: version })
            );
        }
    }

    #[test]
    fn bad_header_sizes_are_refused() {
        let len = sample_image().len();
        let declared = u32::try_from(len).unwrap() + 8;
        let total_too_big = parse_patched(|image| write_u32(image, TOTAL_SIZE_AT, declared));
        assert_eq!(
            total_too_big,
            Err(Error::TotalSizeInvalid {
                declared,
                available: len
            })
        );
        let total_too_small = parse_patched(|image| write_u32(image, TOTAL_SIZE_AT, 39));
        assert!(matches!(
            total_too_small,
            Err(Error::TotalSizeInvalid { declared: 39, .. })
        ));
        let table = Err(Error::RegionOutOfBounds {
            region: Region::EntryTable,
        });
        assert_eq!(
            parse_patched(|image| write_u32(image, TABLE_OFFSET_AT, 0)),
            table
        );
        assert_eq!(
            parse_patched(|image| write_u32(image, ENTRY_COUNT_AT, u32::MAX)),
            table
        );
        assert_eq!(
            parse_patched(|image| write_u32(image, NAMES_OFFSET_AT, 41)),
            Err(Error::RegionOutOfBounds {
                region: Region::Names
            })
        );
        assert_eq!(
            parse_patched(|image| write_u32(image, DATA_SIZE_AT, u32::MAX)),
            Err(Error::RegionOutOfBounds {
                region: Region::Data
            })
        );
        assert_eq!(
            parse_patched(|image| write_u32(image, ENTRY_COUNT_AT, 0)),
            Err(Error::NoRoot)
        );
    }

    #[test]
    fn bad_root_is_refused() {
        // A root that is a valid empty file.
        let as_file = parse_patched(|image| {
            let data_start = read_u32(image, DATA_OFFSET_AT);
            image[entry_at(0) + KIND_IN_ENTRY] = KIND_FILE;
            write_u32(image, entry_at(0) + FIRST_WORD_IN_ENTRY, data_start);
            write_u32(image, entry_at(0) + SECOND_WORD_IN_ENTRY, 0);
        });
        assert_eq!(as_file, Err(Error::BadRoot));
        // A root that borrows another entry's name.
        let named = parse_patched(|image| {
            let bin = read_u32(image, entry_at(1) + NAME_OFFSET_IN_ENTRY);
            write_u32(image, entry_at(0) + NAME_OFFSET_IN_ENTRY, bin);
        });
        assert_eq!(named, Err(Error::BadRoot));
    }

    #[test]
    fn bad_entry_fields_are_refused() {
        let image = sample_image();
        let readme = find_entry(&image, "readme");
        let entry = u32::try_from(readme).unwrap();
        let at = entry_at(readme);
        assert_eq!(
            parse_patched(|image| write_u32(image, at + NAME_OFFSET_IN_ENTRY, u32::MAX)),
            Err(Error::NameOutOfBounds { entry })
        );
        assert_eq!(
            parse_patched(|image| image[at + KIND_IN_ENTRY] = 7),
            Err(Error::UnknownKind { entry, kind: 7 })
        );
        assert_eq!(
            parse_patched(|image| image[at + RESERVED_IN_ENTRY + 2] = 1),
            Err(Error::ReservedNotZero { entry })
        );
        assert_eq!(
            parse_patched(|image| write_u32(image, at + SECOND_WORD_IN_ENTRY, u32::MAX)),
            Err(Error::DataOutOfBounds { entry })
        );
        let misaligned = parse_patched(|image| {
            let offset = read_u32(image, at + FIRST_WORD_IN_ENTRY);
            write_u32(image, at + FIRST_WORD_IN_ENTRY, offset + 1);
            write_u32(image, at + SECOND_WORD_IN_ENTRY, 0);
        });
        assert_eq!(misaligned, Err(Error::DataMisaligned { entry }));
    }

    #[test]
    fn bad_names_in_the_image_are_refused() {
        let image = sample_image();
        let z = find_entry(&image, "z");
        let entry = u32::try_from(z).unwrap();
        let name_at = read_u32(&image, entry_at(z) + NAME_OFFSET_IN_ENTRY) as usize;
        let with_name = |len: u8, byte: u8| {
            parse_patched(|image| {
                image[name_at] = len;
                image[name_at + 1] = byte;
            })
        };
        assert_eq!(with_name(1, 0xFF), Err(Error::NameNotUtf8 { entry }));
        let bad_name = |reason| Err(Error::BadEntryName { entry, reason });
        assert_eq!(with_name(1, b'.'), bad_name(NameError::DotOrDotDot));
        assert_eq!(with_name(1, b'/'), bad_name(NameError::ContainsSlash));
        assert_eq!(with_name(0, b'z'), bad_name(NameError::Empty));
        // A length byte that runs past the end of the name table.
        assert_eq!(with_name(255, b'z'), Err(Error::NameOutOfBounds { entry }));
    }

    #[test]
    fn cycles_and_bad_child_ranges_are_refused() {
        let image = sample_image();
        let a = find_entry(&image, "a");
        let entry = u32::try_from(a).unwrap();
        let first_child_at = entry_at(a) + FIRST_WORD_IN_ENTRY;
        let count_at = entry_at(a) + SECOND_WORD_IN_ENTRY;
        // `lib/a` listing itself, or the root, among its children.
        for target in [entry, 0] {
            assert_eq!(
                parse_patched(|image| write_u32(image, first_child_at, target)),
                Err(Error::ChildRangeNotAfterParent { entry })
            );
        }
        for count in [u32::MAX, 20] {
            assert_eq!(
                parse_patched(|image| write_u32(image, count_at, count)),
                Err(Error::ChildRangeOutOfBounds { entry })
            );
        }
        // The root giving up its last child leaves `bin`'s range misplaced.
        let shorter_root =
            parse_patched(|image| write_u32(image, entry_at(0) + SECOND_WORD_IN_ENTRY, 5));
        assert_eq!(
            shorter_root,
            Err(Error::ChildRangeNotContiguous { entry: 1 })
        );
    }

    #[test]
    fn orphan_entries_are_refused() {
        let mut builder = Builder::new();
        builder.add_file("a", b"1").unwrap();
        builder.add_file("b", b"2").unwrap();
        let mut image = builder.build();
        write_u32(&mut image, entry_at(0) + SECOND_WORD_IN_ENTRY, 1);
        assert_eq!(
            RomFs::parse(&image).unwrap_err(),
            Error::Unreachable { entry: 2 }
        );
    }

    #[test]
    fn unsorted_or_duplicate_children_are_refused() {
        let image = sample_image();
        let (bin, etc) = (find_entry(&image, "bin"), find_entry(&image, "etc"));
        let bin_name = read_u32(&image, entry_at(bin));
        let etc_name = read_u32(&image, entry_at(etc));
        let swapped = parse_patched(|image| {
            write_u32(image, entry_at(bin), etc_name);
            write_u32(image, entry_at(etc), bin_name);
        });
        assert_eq!(swapped, Err(Error::ChildrenUnsorted { entry: 0 }));
        let duplicate = parse_patched(|image| write_u32(image, entry_at(etc), bin_name));
        assert_eq!(duplicate, Err(Error::ChildrenUnsorted { entry: 0 }));
        assert_eq!(image[entry_at(bin) + KIND_IN_ENTRY], KIND_DIR);
    }
}

/// The example image of `docs/romfs.md`, byte for byte: keeps the
/// specification and the packer in step.
#[test]
fn documented_example_is_what_the_packer_writes() {
    #[rustfmt::skip]
    const EXAMPLE: [u8; 136] = [
        0x54, 0x53, 0x52, 0x52, 0x4f, 0x4d, 0x46, 0x53, 0x01, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00,
        0x28, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00,
        0x78, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x6d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x78, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x72, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x03, 0x62, 0x69, 0x6e, 0x04, 0x6d, 0x6f,
        0x74, 0x64, 0x02, 0x73, 0x68, 0x00, 0x00, 0x00, 0x68, 0x69, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x73, 0x68, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let mut builder = Builder::new();
    builder.add_file("bin/sh", b"sh!").unwrap();
    builder.add_file("motd", b"hi\n").unwrap();
    assert_eq!(builder.build(), EXAMPLE);
    let fs = RomFs::parse(&EXAMPLE).unwrap();
    assert_eq!(fs.lookup("bin/sh").unwrap().data(), b"sh!");
}

#[test]
fn errors_read_well() {
    let cases = [
        (
            Error::NameOutOfBounds { entry: 3 },
            "romfs: entry 3 name out of bounds",
        ),
        (Error::BadMagic, "romfs: bad magic, not a romfs image"),
        (
            Error::UnsupportedVersion { found: 9 },
            "romfs: format version 9 is not supported (this reader knows version 1)",
        ),
        (
            Error::RegionOutOfBounds {
                region: Region::Names,
            },
            "romfs: name table out of bounds",
        ),
        (
            Error::BadEntryName {
                entry: 4,
                reason: NameError::TooLong { len: 300 },
            },
            "romfs: entry 4 has an invalid name: name is 300 bytes, over the 255-byte limit",
        ),
        (
            Error::InvalidName(NameError::Empty),
            "romfs: invalid path: empty name",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}
