//! Reading QEMU's `-d in_asm,exec,nochain` log: the blocks QEMU
//! translated (their listings) and, for each, how often it ran between
//! one entry of the marker function and the next.
//!
//! A block's listing (`IN:`, one line an instruction, a blank line) comes
//! once, when QEMU translates it; each run is a `Trace` line naming the
//! block by its host code pointer and its guest address. Under `-icount`,
//! a block that reaches an MMIO access other than as its last instruction
//! is rewound (`cpu_io_recompile`) and runs again up to the access only,
//! which a block of its own (flag `CF_LAST_IO`) then runs: the rewound
//! run counts only the instructions before the access.

use std::collections::HashMap;
use std::io::BufRead;

use anyhow::{Context, Result};

/// QEMU 7.2's `CF_LAST_IO`: a block cut to end at an I/O access, which
/// under `-icount` is one MMIO access of the guest.
const CF_LAST_IO: u64 = 0x8000;

/// One block QEMU translated (or the part of one before an MMIO access).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    /// The guest address of its first instruction.
    pub pc: u64,
    /// The guest address of each of its instructions.
    pub pcs: Vec<u64>,
    /// Its code, as QEMU listed it.
    pub code: Vec<u8>,
    /// Its last instruction, as QEMU disassembled it.
    pub last: String,
}

/// Block executions: block index → how many times it ran.
pub type Executions = HashMap<usize, u64>;

/// What ran between one entry of the marker and the next.
#[derive(Clone, Debug, Default)]
pub struct Interval {
    /// Each block's runs (a rewound run counted as its part before the
    /// access).
    pub runs: Executions,
    /// Runs of blocks that end at an MMIO access.
    pub mmio: Executions,
}

/// A whole trace, cut at each entry of the marker.
#[derive(Debug, Default)]
pub struct Trace {
    /// Every block that ran.
    pub blocks: Vec<Block>,
    /// `intervals[0]` is before the marker's first entry, `intervals[i]`
    /// from its `i`th entry to the next.
    pub intervals: Vec<Interval>,
}

impl Trace {
    /// The instructions `runs` executed: each block's length times its
    /// runs.
    pub fn instructions(&self, runs: &Executions) -> u64 {
        runs.iter()
            .map(|(&block, &count)| self.blocks[block].pcs.len() as u64 * count)
            .sum()
    }
}

/// Reads a trace, cutting it wherever a block starting at `marker` runs.
pub fn parse(reader: impl BufRead, marker: u64) -> Result<Trace> {
    let mut parser = Parser {
        marker,
        trace: Trace {
            intervals: vec![Interval::default()],
            ..Trace::default()
        },
        ..Parser::default()
    };
    for line in reader.split(b'\n') {
        let line = line.context("reading the trace")?;
        parser.line(&String::from_utf8_lossy(&line));
    }
    Ok(parser.trace)
}

/// The reader's state between lines.
#[derive(Default)]
struct Parser {
    marker: u64,
    trace: Trace,
    /// The block whose listing is being read.
    listing: Option<Block>,
    /// Blocks listed but not run yet, by guest address.
    listed: HashMap<u64, Block>,
    /// Block index by QEMU's host code pointer.
    by_host: HashMap<u64, usize>,
    /// (rewound block, address of its access) → the block of its part
    /// before the access.
    prefixes: HashMap<(usize, u64), usize>,
    /// The block that ran last, unless a rewind followed it.
    last: Option<usize>,
    /// The block QEMU just rewound, to be counted as its part before the
    /// access once the access's block shows where that is.
    rewound: Option<usize>,
}

impl Parser {
    fn line(&mut self, line: &str) {
        let line = line.trim_end_matches('\r');
        if line.starts_with("Trace ") {
            self.run(line);
        } else if line.starts_with("IN:") {
            self.listing = Some(Block::default());
        } else if line.is_empty() {
            self.end_listing();
        } else if line.starts_with("cpu_io_recompile") {
            self.rewound = self.last.take();
        } else if let Some(block) = &mut self.listing
            && let Some((pc, code, text)) = instruction(line)
        {
            if block.pcs.is_empty() {
                block.pc = pc;
            }
            block.pcs.push(pc);
            block.code.extend_from_slice(&code);
            block.last = text;
        }
    }

    fn end_listing(&mut self) {
        if let Some(block) = self.listing.take()
            && !block.pcs.is_empty()
        {
            self.listed.insert(block.pc, block);
        }
    }

    /// A `Trace` line: one run of a block.
    fn run(&mut self, line: &str) {
        let Some((host, pc, cflags)) = run_fields(line) else {
            return;
        };
        if let Some(block) = self.listed.remove(&pc) {
            self.by_host.insert(host, self.trace.blocks.len());
            self.trace.blocks.push(block);
        }
        let Some(&block) = self.by_host.get(&host) else {
            return;
        };
        if let Some(rewound) = self.rewound.take() {
            self.count_rewound(rewound, pc);
        }
        if pc == self.marker {
            self.trace.intervals.push(Interval::default());
        }
        let interval = self
            .trace
            .intervals
            .last_mut()
            .expect("one interval at least");
        *interval.runs.entry(block).or_default() += 1;
        if cflags & CF_LAST_IO != 0 {
            *interval.mmio.entry(block).or_default() += 1;
        }
        self.last = Some(block);
    }

    /// Counts the run of `rewound` as its part before the access at `pc`.
    fn count_rewound(&mut self, rewound: usize, pc: u64) {
        let blocks = &mut self.trace.blocks;
        let prefix = *self.prefixes.entry((rewound, pc)).or_insert_with(|| {
            let whole = &blocks[rewound];
            let part = Block {
                pc: whole.pc,
                pcs: whole.pcs.iter().copied().filter(|&at| at < pc).collect(),
                code: Vec::new(),
                last: whole.last.clone(),
            };
            blocks.push(part);
            blocks.len() - 1
        });
        let runs = &mut self.trace.intervals.last_mut().expect("one interval").runs;
        if let Some(count) = runs.get_mut(&rewound) {
            *count = count.saturating_sub(1);
        }
        *runs.entry(prefix).or_default() += 1;
    }
}

/// `Trace 0: 0x7f12c0000100 [00000000/0000000080200000/00000000/ff028000] `:
/// the host pointer, the guest address and the block's flags (`cflags`).
fn run_fields(line: &str) -> Option<(u64, u64, u64)> {
    let (_, rest) = line.split_once(": ")?;
    let (host, rest) = rest.split_once(" [")?;
    let (fields, _) = rest.split_once(']')?;
    let fields: Vec<&str> = fields.split('/').collect();
    let [_, pc, _, cflags] = fields.as_slice() else {
        return None;
    };
    Some((hex(host)?, hex(pc)?, hex(cflags)?))
}

/// `0x0000000080200000:  00000297          auipc  t0,0`: the address, the
/// instruction's bytes and its text.
fn instruction(line: &str) -> Option<(u64, Vec<u8>, String)> {
    let (address, rest) = line.split_once(':')?;
    let pc = hex(address)?;
    let rest = rest.trim_start();
    let (word, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let value = u32::from_str_radix(word, 16).ok()?;
    // QEMU prints the instruction as a number: 4 digits for a compressed
    // one, 8 for a full one; in memory it is little-endian.
    let length = word.len() / 2;
    if length != 2 && length != 4 {
        return None;
    }
    let code = value.to_le_bytes()[..length].to_vec();
    Some((
        pc,
        code,
        text.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

fn hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU 7.2's trace of OpenSBI writing three bytes to the UART: a
    /// block (at 0x8000b410, 21 instructions) calls the write function
    /// (0x8000b2a8, 12) three times, whose next block (0x8000b2f0, 7) is
    /// rewound at its store to the UART (0x8000b2f8), which a block of its
    /// own then runs before the function's last (0x8000b2fc, 3); between
    /// the calls, blocks of 5, then 1 and 3 instructions. The first line
    /// is a run of a block listed before the snippet.
    const SNIPPET: &str = include_str!("trace-snippet.txt");
    const WRITE: u64 = 0x8000_b2a8;
    const STORE: u64 = 0x8000_b2f8;

    fn snippet() -> Trace {
        parse(SNIPPET.as_bytes(), WRITE).expect("the snippet parses")
    }

    fn block(trace: &Trace, pc: u64, length: usize) -> usize {
        trace
            .blocks
            .iter()
            .position(|block| block.pc == pc && block.pcs.len() == length)
            .expect("the block is in the trace")
    }

    #[test]
    fn blocks_are_read_from_their_listings() {
        let trace = snippet();
        let write = &trace.blocks[block(&trace, WRITE, 12)];
        assert_eq!(write.pcs[..3], [0x8000_b2a8, 0x8000_b2aa, 0x8000_b2ac]);
        // `addi sp,sp,-16` (compressed), `sd s0,8(sp)`, `addi s0,sp,16`,
        // then `auipc a5,...` (a full instruction).
        assert_eq!(
            write.code[..10],
            [0x41, 0x11, 0x22, 0xe4, 0x00, 0x08, 0x97, 0x37, 0x03, 0x00]
        );
        assert_eq!(write.code.len(), 2 * 8 + 4 * 4);
        assert_eq!(write.last, "beq a4,a3,44 # 0x8000b2f0");
        // Eight listed blocks and the rewound one's part before the store.
        assert_eq!(trace.blocks.len(), 9);
    }

    #[test]
    fn the_trace_is_cut_at_each_run_of_the_marker() {
        let trace = snippet();
        let counts: Vec<u64> = trace
            .intervals
            .iter()
            .map(|interval| trace.instructions(&interval.runs))
            .collect();
        // Before: the caller (21). Each call: 12 + 3 before the store + the
        // store + 3; then the caller's 5, or 1 + 3, or nothing yet.
        assert_eq!(counts, [21, 24, 23, 19]);
    }

    #[test]
    fn a_rewound_block_counts_up_to_its_access_which_is_an_mmio_access() {
        let trace = snippet();
        let whole = block(&trace, 0x8000_b2f0, 7);
        let part = block(&trace, 0x8000_b2f0, 3);
        let store = block(&trace, STORE, 1);
        for interval in &trace.intervals[1..] {
            assert_eq!(interval.runs.get(&whole), Some(&0));
            assert_eq!(interval.runs.get(&part), Some(&1));
            assert_eq!(interval.mmio, Executions::from([(store, 1)]));
        }
        assert_eq!(trace.blocks[store].last, "sb a1,0(a5)");
    }
}
