//! Component images: validation, then placement with relocations into a
//! sandbox buffer. Nothing may panic, and every write stays in the buffer
//! (the linker writes only through bounds-checked slices). An image the
//! reader accepts has its section ends in order inside its content, and a
//! paged one has them on pages (what a manager mapping it W^X relies on).

#![no_main]

use libfuzzer_sys::fuzz_target;

/// Larger modules are valid but not worth a buffer each run.
const LARGEST: u32 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(image) = image::Image::parse(data) else {
        return;
    };
    assert!(image.text_size() <= image.read_only_end());
    assert!(image.read_only_end() as usize <= image.content().len());
    if image.is_paged() {
        let page = image::PAGE_SIZE;
        assert!(
            image.text_size().is_multiple_of(page) && image.read_only_end().is_multiple_of(page)
        );
        assert_eq!(image.align(), page);
    }
    if image.memory_size() > LARGEST {
        return;
    }
    let mut memory = vec![0u8; image.memory_size() as usize];
    let imports: Vec<u64> = (0..image.import_symbol_count())
        .map(|index| 0x8020_0000 + u64::from(index) * 16)
        .collect();
    let _ = linker::place(
        &image,
        &mut memory,
        0x8040_0000,
        linker::Calls::Direct,
        &imports,
    );
    let _ = image.name();
    for table in image.export_tables() {
        for export in table.entries() {
            let _ = table.by_ordinal(export.ordinal);
            let _ = table.by_name(export.name);
        }
    }
    for index in 0..image.import_symbol_count() {
        let _ = image.module_of_symbol(index);
    }
});
