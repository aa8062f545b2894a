//! RomFS images: validation, then a walk over every directory and file.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(fs) = romfs::RomFs::parse(data) else {
        return;
    };
    walk(fs.root(), 0);
});

fn walk(directory: romfs::Dir<'_>, depth: usize) {
    if depth > 64 {
        return;
    }
    for entry in directory.entries() {
        let Ok(node) = entry else { continue };
        let _ = node.name();
        match node.as_dir() {
            Some(child) => walk(child, depth + 1),
            None => {
                std::hint::black_box(node.data());
            }
        }
    }
}
