//! Device tree blobs (the firmware's bytes): the header check, then the
//! walk over every node, asking each what the kernel's platform discovery
//! asks. Nothing may panic, and the walk ends.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = devicetree::blob_size(data);
    let Some(tree) = devicetree::DeviceTree::parse(data) else {
        return;
    };
    assert!(tree.total_size() <= data.len());
    tree.walk(|node| {
        let _ = node.is("memory");
        let _ = node.region();
        let _ = node.number("timebase-frequency");
        let _ = node.text("riscv,isa");
        for name in node.compatible() {
            std::hint::black_box(name);
        }
        if let Some(interrupts) = node.property("interrupts") {
            let _ = devicetree::word(interrupts, 0);
        }
        std::hint::black_box((node.name, node.depth));
    });
});
