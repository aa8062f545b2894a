//! The header in front of every block: how a pointer alone finds its block.

use core::alloc::Layout;

use com::{Result, Status};

use crate::{DEFAULT_ALIGN, MAX_ALIGN};

/// Bytes of header below each block.
pub const HEADER_SIZE: usize = 16;
/// Mixed into the header's second word while a block is live; cleared on free.
const LIVE_TAG: u64 = 0x5453_5248_4541_5021;
/// Where the alignment sits in the header's first word.
const ALIGN_SHIFT: u32 = 56;

/// How a block of `size` bytes aligned to `align` sits in the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Bytes from the raw allocation to the block (header included).
    pub offset: usize,
    /// What the engine allocates and frees.
    pub layout: Layout,
}

impl Placement {
    /// The placement of a block, or why it cannot exist.
    pub fn new(size: usize, align: usize) -> Result<Placement> {
        let align = if align == 0 { DEFAULT_ALIGN } else { align };
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(Status::INVALID_ARGUMENT);
        }
        // The header must fit below the block and keep the block aligned, so
        // the offset is the larger of the header and the alignment. Sizes
        // round up to 16 bytes, so blocks of one size class share a layout.
        let offset = align.max(HEADER_SIZE);
        let total = size
            .checked_next_multiple_of(HEADER_SIZE)
            .and_then(|size| size.checked_add(offset))
            .ok_or(Status::OUT_OF_MEMORY)?;
        let layout = Layout::from_size_align(total, align.max(DEFAULT_ALIGN))
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        Ok(Placement { offset, layout })
    }

    /// The placement shared by the blocks of small-block class `class`:
    /// `16 · (class + 1)` bytes after a header, default alignment.
    pub fn of_class(class: usize) -> Placement {
        let layout = Layout::from_size_align((class + 2) * HEADER_SIZE, DEFAULT_ALIGN)
            .unwrap_or(Layout::new::<[u64; 2]>());
        Placement {
            offset: HEADER_SIZE,
            layout,
        }
    }
}

/// The tag of a live block at `block` of the heap whose region starts at
/// `heap`: tying it to the heap too keeps a nested heap's blocks, which lie
/// inside a block of the parent, from passing for the parent's.
fn tag(heap: usize, block: usize) -> u64 {
    block as u64 ^ LIVE_TAG ^ (heap as u64).rotate_left(32)
}

/// The two header words of a live block at `block` of the heap at `heap`.
pub fn encode(heap: usize, block: usize, size: usize, align: usize) -> [u64; 2] {
    let align = if align == 0 { DEFAULT_ALIGN } else { align };
    let log2 = u64::from(align.trailing_zeros());
    [size as u64 | log2 << ALIGN_SHIFT, tag(heap, block)]
}

/// The size and alignment recorded in the header words of the block at
/// `block` of the heap at `heap`, if they describe a live block.
pub fn decode(heap: usize, block: usize, words: [u64; 2]) -> Option<(usize, usize)> {
    if words[1] != tag(heap, block) {
        return None;
    }
    let size = usize::try_from(words[0] & ((1 << ALIGN_SHIFT) - 1)).ok()?;
    let align = 1usize.checked_shl(u32::try_from(words[0] >> ALIGN_SHIFT).ok()?)?;
    Some((size, align))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAP: usize = 0x8000_0000;

    #[test]
    fn header_round_trips() {
        let words = encode(HEAP, 0x8000_1230, 1000, 64);
        assert_eq!(decode(HEAP, 0x8000_1230, words), Some((1000, 64)));
    }

    #[test]
    fn header_of_another_address_is_refused() {
        let words = encode(HEAP, 0x8000_1230, 1000, 64);
        assert_eq!(decode(HEAP, 0x8000_1240, words), None);
    }

    #[test]
    fn header_of_another_heap_is_refused() {
        let words = encode(HEAP, 0x8000_1230, 1000, 64);
        assert_eq!(decode(HEAP + 0x100, 0x8000_1230, words), None);
    }

    #[test]
    fn placement_keeps_the_block_aligned() {
        let small = Placement::new(10, 0).expect("valid");
        assert_eq!(
            (small.offset, small.layout.align(), small.layout.size()),
            (16, 16, 32)
        );
        let page = Placement::new(10, 4096).expect("valid");
        assert_eq!((page.offset, page.layout.align()), (4096, 4096));
    }

    #[test]
    fn placement_refuses_bad_requests() {
        assert_eq!(Placement::new(1, 3), Err(Status::INVALID_ARGUMENT));
        assert_eq!(
            Placement::new(1, MAX_ALIGN * 2),
            Err(Status::INVALID_ARGUMENT)
        );
        assert_eq!(Placement::new(usize::MAX, 16), Err(Status::OUT_OF_MEMORY));
    }
}
