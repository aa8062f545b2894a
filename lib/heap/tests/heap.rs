//! Host tests of the heap: allocation, validation by pointer, status figures,
//! the `IHeap` object and nested heaps.

use com::{ComPtr, Status};
use heap::{Heap, HeapObject, SharedHeap};
use interfaces::IHeap;

/// A heap over a fresh leaked region of `size` bytes.
fn heap_of(size: usize) -> Heap {
    let region: &'static mut [u8] = Box::leak(vec![0u8; size].into_boxed_slice());
    let mut heap = Heap::empty();
    // SAFETY: the region is leaked, so it is valid and unshared forever.
    unsafe { heap.init(region.as_mut_ptr(), region.len()) };
    heap
}

/// Frees through the unsafe API; tests pass only genuine or stray pointers,
/// never forged headers.
fn free(heap: &mut Heap, block: *mut u8) -> Result<(), Status> {
    // SAFETY: see above.
    unsafe { heap.free(block) }
}

/// Reallocates through the unsafe API, with genuine pointers only.
fn realloc(heap: &mut Heap, block: *mut u8, size: usize) -> Result<*mut u8, Status> {
    // SAFETY: see `free`.
    unsafe { heap.realloc(block, size, 0) }.map(|block| block.as_ptr())
}

fn shared_of(size: usize) -> ComPtr<IHeap> {
    let region: &'static mut [u8] = Box::leak(vec![0u8; size].into_boxed_slice());
    let shared: &'static SharedHeap = Box::leak(Box::new(SharedHeap::empty()));
    // SAFETY: as in `heap_of`.
    unsafe { shared.init(region.as_mut_ptr(), region.len()) };
    HeapObject::serve(shared).expect("the host heap has room for the object")
}

#[test]
fn blocks_honour_alignment_and_size() {
    let mut heap = heap_of(64 * 1024);
    for align in [0, 1, 8, 16, 64, 4096] {
        let block = heap.alloc(100, align).expect("room").as_ptr();
        assert_eq!(block as usize % align.max(16), 0, "align {align}");
        assert_eq!(heap.size_of(block), Ok(100));
        assert!(heap.validate(block));
    }
}

fn byte(i: usize) -> u8 {
    u8::try_from(i).expect("fewer than 256 blocks")
}

#[test]
fn blocks_do_not_overlap() {
    let mut heap = heap_of(64 * 1024);
    let blocks: Vec<_> = (0..50)
        .map(|i| (heap.alloc(i * 7 + 1, 0).expect("room"), i * 7 + 1))
        .collect();
    for (i, &(block, size)) in blocks.iter().enumerate() {
        // SAFETY: each block holds `size` bytes.
        unsafe { block.as_ptr().write_bytes(byte(i), size) };
    }
    for (i, &(block, size)) in blocks.iter().enumerate() {
        // SAFETY: as above.
        let bytes = unsafe { std::slice::from_raw_parts(block.as_ptr(), size) };
        assert!(
            bytes.iter().all(|&b| b == byte(i)),
            "block {i} was overwritten"
        );
    }
}

#[test]
fn used_returns_exactly_to_baseline() {
    let mut heap = heap_of(64 * 1024);
    let baseline = heap.status().used;
    let blocks: Vec<_> = (1..40)
        .map(|i| heap.alloc(i * 13, 1 << (i % 8)).expect("room"))
        .collect();
    let busy = heap.status();
    assert!(busy.used > baseline);
    assert_eq!(busy.max_used, busy.used);
    for block in blocks.into_iter().rev() {
        free(&mut heap, block.as_ptr()).expect("live");
    }
    let idle = heap.status();
    assert_eq!(idle.used, baseline);
    assert_eq!(idle.max_used, busy.used);
    assert_eq!(idle.reserved, idle.committed);
}

#[test]
fn double_free_and_stray_pointers_are_refused() {
    let mut heap = heap_of(16 * 1024);
    let block = heap.alloc(64, 0).expect("room").as_ptr();
    free(&mut heap, block).expect("live");
    assert_eq!(free(&mut heap, block), Err(Status::INVALID_ARGUMENT));
    assert!(!heap.validate(block));
    let other = heap.alloc(64, 0).expect("room").as_ptr();
    assert_eq!(
        free(&mut heap, other.wrapping_add(16)),
        Err(Status::INVALID_ARGUMENT)
    );
    assert_eq!(
        free(&mut heap, other.wrapping_add(3)),
        Err(Status::INVALID_ARGUMENT)
    );
    let outside = Box::into_raw(Box::new([0u64; 4])).cast::<u8>();
    assert_eq!(
        free(&mut heap, outside.wrapping_add(16)),
        Err(Status::INVALID_ARGUMENT)
    );
    assert_eq!(
        free(&mut heap, std::ptr::null_mut()),
        Err(Status::INVALID_ARGUMENT)
    );
    assert!(heap.validate(other));
}

#[test]
fn exhaustion_is_an_error_and_loses_nothing() {
    let mut heap = heap_of(4096);
    let kept = heap.alloc(1000, 0).expect("room").as_ptr();
    assert_eq!(heap.alloc(10_000, 0), Err(Status::OUT_OF_MEMORY));
    assert_eq!(heap.alloc(usize::MAX - 8, 0), Err(Status::OUT_OF_MEMORY));
    assert_eq!(heap.alloc(8, 3), Err(Status::INVALID_ARGUMENT));
    assert!(heap.validate(kept));
    assert!(heap.alloc(1000, 0).is_ok());
}

#[test]
fn realloc_keeps_contents_and_the_old_block_on_failure() {
    let mut heap = heap_of(8192);
    let block = heap.alloc(16, 0).expect("room").as_ptr();
    // SAFETY: the block holds 16 bytes.
    unsafe { block.copy_from(b"0123456789abcdef".as_ptr(), 16) };
    let grown = realloc(&mut heap, block, 100).expect("room");
    assert!(!heap.validate(block));
    // SAFETY: the grown block holds at least 16 bytes.
    let contents = unsafe { std::slice::from_raw_parts(grown, 16) };
    assert_eq!(contents, b"0123456789abcdef");
    assert_eq!(
        realloc(&mut heap, grown, 1 << 20),
        Err(Status::OUT_OF_MEMORY)
    );
    assert!(heap.validate(grown));
    let shrunk = realloc(&mut heap, grown, 4).expect("room");
    // SAFETY: the shrunk block holds 4 bytes.
    assert_eq!(unsafe { std::slice::from_raw_parts(shrunk, 4) }, b"0123");
}

#[test]
fn heap_object_serves_the_interface() {
    let heap = shared_of(64 * 1024);
    let before = heap.status().expect("status");
    let block = heap.alloc(300, 32).expect("room");
    assert_eq!(block as usize % 32, 0);
    assert_eq!(heap.size(block), Ok(300));
    assert_eq!(heap.validate(block), Ok(true));
    heap.free(block).expect("live");
    assert_eq!(heap.validate(block), Ok(false));
    assert_eq!(heap.free(block), Err(Status::INVALID_ARGUMENT));
    assert_eq!(heap.status().expect("status").used, before.used);
}

#[test]
fn nested_heap_lives_in_a_block_of_its_parent() {
    let parent = shared_of(64 * 1024);
    let baseline = parent.status().expect("status").used;
    let nested = HeapObject::nested(&parent, 8192).expect("room");
    assert!(parent.status().expect("status").used >= baseline + 8192);
    assert!(nested.status().expect("status").reserved <= 8192);
    let inner = nested.alloc(1000, 0).expect("room");
    assert_eq!(nested.validate(inner), Ok(true));
    assert_eq!(
        parent.validate(inner),
        Ok(false),
        "the parent must not own inner blocks"
    );
    assert_eq!(nested.alloc(10_000, 0), Err(Status::OUT_OF_MEMORY));
    // Dropping the nested heap returns its block, inner allocations and all.
    drop(nested);
    assert_eq!(parent.status().expect("status").used, baseline);
}

#[test]
fn nested_heap_larger_than_its_parent_fails_cleanly() {
    let parent = shared_of(4096);
    assert_eq!(
        HeapObject::nested(&parent, 1 << 20).err(),
        Some(Status::OUT_OF_MEMORY)
    );
}

#[test]
fn a_freed_small_block_is_reused_and_counts_as_free() {
    let mut heap = heap_of(16 * 1024);
    let baseline = heap.status().used;
    let block = heap.alloc(40, 0).expect("room").as_ptr();
    free(&mut heap, block).expect("live");
    assert_eq!(heap.status().used, baseline, "a kept block is not in use");
    // Another size of the same 16-byte class takes the kept block back.
    let again = heap.alloc(33, 0).expect("room").as_ptr();
    assert_eq!(again, block);
    assert_eq!(heap.size_of(again), Ok(33));
    free(&mut heap, again).expect("live");
    assert_eq!(free(&mut heap, again), Err(Status::INVALID_ARGUMENT));
}

#[test]
fn kept_blocks_go_back_when_the_heap_runs_out() {
    let mut heap = heap_of(8 * 1024);
    let mut small = Vec::new();
    while let Ok(block) = heap.alloc(200, 0) {
        small.push(block.as_ptr());
    }
    for block in small {
        free(&mut heap, block).expect("live");
    }
    // Only a few blocks per class are kept, but those must not make a
    // large block impossible: they return to the engine first.
    let large = heap
        .alloc(7 * 1024 + 512, 0)
        .expect("the kept blocks were given back");
    free(&mut heap, large.as_ptr()).expect("live");
}

#[test]
fn shrinking_stays_in_place_and_gives_the_tail_back() {
    let mut heap = heap_of(64 * 1024);
    let before = heap.status().used;
    let block = heap.alloc(1024, 0).expect("room").as_ptr();
    // SAFETY: the block holds 1024 bytes.
    unsafe { block.copy_from(b"0123456789abcdef".as_ptr(), 16) };
    let shrunk = realloc(&mut heap, block, 512).expect("shrinking needs no room");
    assert_eq!(shrunk, block, "a shrink does not move the block");
    assert_eq!(heap.size_of(shrunk), Ok(512));
    // SAFETY: the shrunk block holds 512 bytes.
    let contents = unsafe { std::slice::from_raw_parts(shrunk, 16) };
    assert_eq!(contents, b"0123456789abcdef");
    let half = heap.status().used;
    // The tail is the engine's again: a block of its size fits right there.
    let tail = heap.alloc(400, 0).expect("room").as_ptr();
    assert!((shrunk as usize..shrunk as usize + 1024 + 16).contains(&(tail as usize)));
    free(&mut heap, tail).expect("live");
    assert_eq!(heap.status().used, half);
    free(&mut heap, shrunk).expect("live");
    assert_eq!(heap.status().used, before);
}
