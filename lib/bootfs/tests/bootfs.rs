//! Host tests: a packed RomFS image mounted in a namespace at /boot.

#![allow(clippy::unwrap_used, missing_docs)]

use bootfs::RomDirectory;
use com::{ComObject, ComPtr, Status};
use interfaces::namespace::flags;
use interfaces::{IFile, INamespace};
use namespace::Namespace;

fn image() -> &'static [u8] {
    let mut builder = romfs::Builder::new();
    builder
        .add_file("README", b"Welcome to Tessera.\n")
        .unwrap();
    builder.add_file("empty", b"").unwrap();
    builder.add_file("lib/hello", &[7u8; 3000]).unwrap();
    builder.add_file("lib/deep/er/file", b"deep").unwrap();
    Box::leak(builder.build().into_boxed_slice())
}

fn root_with_boot() -> ComPtr<INamespace> {
    let root: ComPtr<INamespace> = ComObject::create(Namespace::new(None));
    let boot = RomDirectory::mount(image()).unwrap();
    root.register("/boot", boot.as_unknown(), flags::EXTENSION | flags::READ)
        .unwrap();
    root
}

fn read_all(file: &IFile) -> Vec<u8> {
    let mut contents = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let count = file.read_at(contents.len() as u64, &mut buffer).unwrap();
        if count == 0 {
            return contents;
        }
        contents.extend_from_slice(&buffer[..count]);
    }
}

fn file(root: &INamespace, path: &str) -> ComPtr<IFile> {
    root.bind(path, 0).unwrap().query::<IFile>().unwrap()
}

fn list(namespace: &INamespace, directory: &str) -> Vec<String> {
    let mut buffer = [0u8; 255];
    let mut names = Vec::new();
    let mut next = namespace.find_first(directory, &mut buffer);
    while let Ok(length) = next {
        names.push(String::from_utf8(buffer[..length].to_vec()).unwrap());
        next = namespace.find_next(directory, names.last().unwrap(), &mut buffer);
    }
    assert_eq!(next.err(), Some(Status::NO_MORE_ENTRIES));
    names
}

#[test]
fn files_are_read_through_the_root_namespace() {
    let root = root_with_boot();
    assert_eq!(
        read_all(&file(&root, "/boot/README")),
        b"Welcome to Tessera.\n"
    );
    assert_eq!(read_all(&file(&root, "/boot/lib/hello")), vec![7u8; 3000]);
    assert_eq!(read_all(&file(&root, "/boot/lib/deep/er/file")), b"deep");
    assert_eq!(file(&root, "/boot/lib/hello").size(), Ok(3000));
    assert_eq!(file(&root, "/boot/empty").size(), Ok(0));
}

#[test]
fn reads_at_offsets_stop_at_the_end() {
    let root = root_with_boot();
    let readme = file(&root, "/boot/README");
    let mut buffer = [0u8; 7];
    assert_eq!(readme.read_at(11, &mut buffer), Ok(7));
    assert_eq!(&buffer, b"Tessera");
    assert_eq!(readme.read_at(19, &mut buffer), Ok(1));
    assert_eq!(readme.read_at(20, &mut buffer), Ok(0));
    assert_eq!(readme.read_at(u64::MAX, &mut buffer), Ok(0));
}

#[test]
fn directories_list_in_order_and_bind_as_namespaces() {
    let root = root_with_boot();
    assert_eq!(list(&root, "/"), ["boot"]);
    assert_eq!(list(&root, "/boot"), ["README", "empty", "lib"]);
    assert_eq!(list(&root, "/boot/lib"), ["deep", "hello"]);
    let lib = root
        .bind("/boot/lib", 0)
        .unwrap()
        .query::<INamespace>()
        .unwrap();
    assert_eq!(list(&lib, "/deep/er"), ["file"]);
    assert_eq!(read_all(&file(&lib, "/hello")).len(), 3000);
}

#[test]
fn capabilities_mark_directories_read_only() {
    let root = root_with_boot();
    assert_eq!(
        root.capabilities("/boot/lib"),
        Ok(flags::READ | flags::DIRECTORY)
    );
    assert_eq!(root.capabilities("/boot/README"), Ok(flags::READ));
    assert_eq!(
        root.capabilities("/boot/nothing").err(),
        Some(Status::NOT_FOUND)
    );
}

#[test]
fn the_boot_file_system_is_read_only() {
    let root = root_with_boot();
    let readme = file(&root, "/boot/README");
    assert_eq!(readme.write_at(0, b"x").err(), Some(Status::ACCESS_DENIED));
    assert_eq!(
        root.register("/boot/new", readme.as_unknown(), 0).err(),
        Some(Status::ACCESS_DENIED)
    );
    assert_eq!(
        root.unregister("/boot/README").err(),
        Some(Status::ACCESS_DENIED)
    );
}

#[test]
fn missing_and_malformed_names_are_errors() {
    let root = root_with_boot();
    assert_eq!(root.bind("/boot/missing", 0).err(), Some(Status::NOT_FOUND));
    assert_eq!(
        root.bind("/boot/README/below", 0).err(),
        Some(Status::NOT_FOUND)
    );
    assert_eq!(
        root.bind("/boot/lib/../README", 0).err(),
        Some(Status::INVALID_NAME)
    );
    let mut buffer = [0u8; 16];
    assert_eq!(
        root.find_first("/boot/README", &mut buffer).err(),
        Some(Status::NOT_FOUND)
    );
}

#[test]
fn a_corrupt_image_is_refused_at_mount() {
    let mut bytes = image().to_vec();
    bytes[0] ^= 0xff;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    assert!(RomDirectory::mount(bytes).is_err());
    assert!(RomDirectory::mount(&image()[..10]).is_err());
}
