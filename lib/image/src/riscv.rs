//! The RISC-V instruction fields that relocations rewrite, shared by the
//! munger (which re-links a module's own references) and the loader (which
//! binds imports). Each function takes the instruction and the new value
//! and returns the patched instruction, or `None` when the value does not
//! fit the field.

/// The `auipc` opcode.
const AUIPC: u32 = 0x17;
/// The `jalr` opcode.
const JALR: u32 = 0x67;

/// True for an `auipc` instruction.
pub fn is_auipc(word: u32) -> bool {
    word & 0x7f == AUIPC
}

/// True for a `jalr` instruction.
pub fn is_jalr(word: u32) -> bool {
    word & 0x707f == JALR
}

/// Splits a PC-relative distance into the `auipc` upper part and the
/// sign-extended lower 12 bits that complete it; `None` beyond ±2 GiB.
pub fn split_pcrel(distance: i64) -> Option<(i32, i32)> {
    // A distance near the top of the range (an import address the image
    // does not control) must not overflow: found by the `load` fuzz target.
    let high = distance.checked_add(0x800)? >> 12;
    if !(-(1 << 19)..(1 << 19)).contains(&high) {
        return None;
    }
    let low = distance - (high << 12);
    Some((i32::try_from(high).ok()?, i32::try_from(low).ok()?))
}

/// The low 12 bits of a distance whose upper part an `auipc` supplies.
pub fn low_part(distance: i64) -> i32 {
    let low = distance & 0xfff;
    // Sign-extend the 12-bit field.
    i32::try_from((low ^ 0x800) - 0x800).unwrap_or(0)
}

/// `auipc` with upper immediate `high`.
pub fn set_u_immediate(word: u32, high: i32) -> u32 {
    (word & 0xfff) | (high as u32) << 12
}

/// An I-type instruction (`addi`, loads, `jalr`) with immediate `low`.
pub fn set_i_immediate(word: u32, low: i32) -> u32 {
    (word & 0x000f_ffff) | ((low as u32) & 0xfff) << 20
}

/// An S-type instruction (stores) with immediate `low`.
pub fn set_s_immediate(word: u32, low: i32) -> u32 {
    let low = low as u32;
    (word & 0x01ff_f07f) | (low & 0xfe0) << 20 | (low & 0x1f) << 7
}

/// A conditional branch (B-type) reaching `offset` (even, ±4 KiB).
pub fn set_b_offset(word: u32, offset: i64) -> Option<u32> {
    if offset % 2 != 0 || !(-4096..4096).contains(&offset) {
        return None;
    }
    let value = i32::try_from(offset).ok()? as u32;
    let field =
        (value & 0x1000) << 19 | (value & 0x7e0) << 20 | (value & 0x1e) << 7 | (value & 0x800) >> 4;
    Some((word & 0x01ff_f07f) | field)
}

/// A `jal` (J-type) reaching `offset` (even, ±1 MiB).
pub fn set_j_offset(word: u32, offset: i64) -> Option<u32> {
    if offset % 2 != 0 || !(-(1 << 20)..(1 << 20)).contains(&offset) {
        return None;
    }
    let value = i32::try_from(offset).ok()? as u32;
    let field = (value & 0x10_0000) << 11
        | (value & 0x7fe) << 20
        | (value & 0x800) << 9
        | (value & 0xf_f000);
    Some((word & 0xfff) | field)
}

/// A compressed branch (`c.beqz`/`c.bnez`) reaching `offset` (even, ±256 B).
pub fn set_cb_offset(half: u16, offset: i64) -> Option<u16> {
    if offset % 2 != 0 || !(-256..256).contains(&offset) {
        return None;
    }
    let value = i16::try_from(offset).ok()? as u16;
    let field = (value & 0x100) << 4
        | (value & 0x18) << 7
        | (value & 0xc0) >> 1
        | (value & 0x6) << 2
        | (value & 0x20) >> 3;
    Some((half & 0xe383) | field)
}

/// A compressed jump (`c.j`) reaching `offset` (even, ±2 KiB).
pub fn set_cj_offset(half: u16, offset: i64) -> Option<u16> {
    if offset % 2 != 0 || !(-2048..2048).contains(&offset) {
        return None;
    }
    let value = i16::try_from(offset).ok()? as u16;
    let field = (value & 0x800) << 1
        | (value & 0x10) << 7
        | (value & 0x300) << 1
        | (value & 0x400) >> 2
        | (value & 0x40) << 1
        | (value & 0x80) >> 1
        | (value & 0xe) << 2
        | (value & 0x20) >> 3;
    Some((half & 0xe003) | field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_at_the_ends_of_the_range_are_out_of_reach() {
        assert_eq!(split_pcrel(i64::MAX), None);
        assert_eq!(split_pcrel(i64::MAX - 0x7ff), None);
        assert_eq!(split_pcrel(i64::MIN), None);
    }

    #[test]
    fn pcrel_split_rebuilds_the_distance() {
        for distance in [
            0i64,
            1,
            -1,
            0x7ff,
            0x800,
            -0x800,
            -0x801,
            0x1234_5678,
            -0x7fff_f000,
            0x7fff_f7ff,
        ] {
            let (high, low) = split_pcrel(distance).expect("in range");
            assert_eq!(
                i64::from(high) * 4096 + i64::from(low),
                distance,
                "{distance:#x}"
            );
            assert_eq!(low, low_part(distance));
            assert!((-2048..2048).contains(&low));
        }
        assert_eq!(split_pcrel(0x8000_0000), None);
        assert_eq!(split_pcrel(-0x8000_0801), None);
    }

    #[test]
    fn fields_match_the_assembler() {
        // auipc ra, 0x12345 / jalr ra, -4(ra)
        assert_eq!(set_u_immediate(0x0000_0097, 0x12345), 0x1234_5097);
        assert_eq!(set_i_immediate(0x0000_80e7, -4), 0xffc0_80e7);
        // sd a0, 40(sp) = 0x02a13423
        assert_eq!(set_s_immediate(0x00a1_3023, 40), 0x02a1_3423);
        // beq a0, a1, +16 = 0x00b50863; jal ra, +2048 = 0x001000ef
        assert_eq!(set_b_offset(0x00b5_0063, 16), Some(0x00b5_0863));
        assert_eq!(set_j_offset(0x0000_00ef, 2048), Some(0x0010_00ef));
        // c.beqz a0, +8 = 0xc501; c.j -2 = 0xbffd
        assert_eq!(set_cb_offset(0xc101, 8), Some(0xc501));
        assert_eq!(set_cj_offset(0xa001, -2), Some(0xbffd));
        assert_eq!(set_b_offset(0x00b5_0063, 4096), None);
        assert_eq!(set_cj_offset(0xa001, 3), None);
    }
}
