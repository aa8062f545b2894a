//! Where a guest address is: the kernel's functions where its ELF puts
//! them, and each component's at the place the loader put it — found from
//! the code that ran, since components are loaded at run time: a block
//! whose bytes occur once in a component's code, as the munger lays it
//! out, says where that code starts.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SectionIndex, SectionKind, SymbolKind};

use super::trace::Block;

/// A function at its run-time addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub start: u64,
    pub end: u64,
    /// The kernel or the component it belongs to.
    pub component: String,
    /// Its demangled name, without the hash.
    pub name: String,
}

/// Every function of the kernel and of the components found, by address.
pub struct Symbols {
    /// Sorted by start.
    symbols: Vec<Symbol>,
    /// Code ranges (start, end, component), for code no symbol covers.
    ranges: Vec<(u64, u64, String)>,
}

/// How far back from an address the lookup looks for a function that
/// covers it (functions nest only through aliases and local labels).
const LOOK_BACK: usize = 16;

impl Symbols {
    pub fn new(mut symbols: Vec<Symbol>, ranges: Vec<(u64, u64, String)>) -> Symbols {
        // Of aliases (one address, several names), the first name stays.
        symbols.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
        symbols.dedup_by_key(|symbol| symbol.start);
        Symbols { symbols, ranges }
    }

    /// The component and the function `pc` is in: `?` for a component's
    /// code no symbol covers, `unknown` for code of none (the firmware).
    pub fn lookup(&self, pc: u64) -> (&str, &str) {
        let after = self.symbols.partition_point(|symbol| symbol.start <= pc);
        let covering = self.symbols[..after]
            .iter()
            .rev()
            .take(LOOK_BACK)
            .find(|symbol| pc < symbol.end);
        if let Some(symbol) = covering {
            return (&symbol.component, &symbol.name);
        }
        self.ranges
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&pc))
            .map_or(("unknown", "?"), |(_, _, component)| (component, "?"))
    }

    /// The function that starts at `pc`, if one does.
    pub fn starting_at(&self, pc: u64) -> Option<&Symbol> {
        let at = self.symbols.partition_point(|symbol| symbol.start < pc);
        self.symbols.get(at).filter(|symbol| symbol.start == pc)
    }
}

/// A function of an ELF: its section, address, size and name.
struct Function {
    section: SectionIndex,
    address: u64,
    size: u64,
    name: String,
}

/// The functions of `elf`, demangled: every symbol of its code but
/// sections, files and local labels, since an assembly function (`memcpy`,
/// the trap entry) may be a bare label; one without a size reaches to the
/// next.
fn functions(elf: &object::File<'_>) -> Vec<Function> {
    let code: Vec<SectionIndex> = elf
        .sections()
        .filter(|section| section.kind() == SectionKind::Text)
        .map(|section| section.index())
        .collect();
    let mut functions: Vec<Function> = elf
        .symbols()
        .filter(|symbol| !matches!(symbol.kind(), SymbolKind::Section | SymbolKind::File))
        .filter_map(|symbol| {
            let section = symbol
                .section_index()
                .filter(|index| code.contains(index))?;
            let name = symbol.name().ok()?;
            if name.is_empty() || name.starts_with('$') || name.starts_with(".L") {
                return None;
            }
            Some(Function {
                section,
                address: symbol.address(),
                size: symbol.size(),
                name: demangle(name),
            })
        })
        .collect();
    functions.sort_by_key(|function| function.address);
    let starts: Vec<u64> = functions.iter().map(|function| function.address).collect();
    for (i, function) in functions.iter_mut().enumerate() {
        if function.size == 0 {
            let next = starts[i + 1..]
                .iter()
                .find(|&&start| start > function.address);
            function.size = next.map_or(2, |next| next - function.address);
        }
    }
    functions
}

/// `name` without Rust's mangling and hash; other names as they are.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The kernel's functions, where its ELF puts them, and its code's
/// range (the components' code is elsewhere: on the kernel's heap).
pub fn kernel(path: &Path) -> Result<(Vec<Symbol>, (u64, u64, String))> {
    let bytes = read(path)?;
    let elf = object::File::parse(&*bytes).with_context(|| format!("{}", path.display()))?;
    let symbols = functions(&elf)
        .into_iter()
        .map(|function| Symbol {
            start: function.address,
            end: function.address + function.size,
            component: "kernel".into(),
            name: function.name,
        })
        .collect();
    let code: Vec<(u64, u64)> = elf
        .sections()
        .filter(|section| section.kind() == SectionKind::Text)
        .map(|section| (section.address(), section.address() + section.size()))
        .collect();
    let start = code.iter().map(|&(start, _)| start).min().unwrap_or(0);
    let end = code.iter().map(|&(_, end)| end).max().unwrap_or(0);
    Ok((symbols, (start, end, "kernel".into())))
}

/// A component's code as the munger lays it out (from offset 0) and its
/// functions at their offsets there.
pub struct Module {
    pub name: String,
    pub code: Vec<u8>,
    /// (offset, size, name).
    functions: Vec<(u64, u64, String)>,
}

impl Module {
    /// Reads the component `name` from its ELF at `path`, laid out
    /// `paged` or not, as its `.def` says.
    pub fn read(name: &str, path: &Path, paged: bool) -> Result<Module> {
        let bytes = read(path)?;
        let elf = object::File::parse(&*bytes).with_context(|| format!("{}", path.display()))?;
        let layout = munger::Layout::of(&elf, paged)?;
        let mut code = vec![0; usize::try_from(layout.text_size)?];
        for section in elf.sections() {
            let Some(offset) = layout.offset_in(section.index(), 0) else {
                continue;
            };
            let data = section.data()?;
            let offset = usize::try_from(offset)?;
            if let Some(place) = code.get_mut(offset..offset + data.len()) {
                place.copy_from_slice(data);
            }
        }
        let functions = functions(&elf)
            .into_iter()
            .filter_map(|function| {
                let base = layout.elf_address(function.section)?;
                let offset = layout.offset_in(function.section, function.address - base)?;
                Some((offset, function.size, function.name))
            })
            .collect();
        Ok(Module {
            name: name.to_owned(),
            code,
            functions,
        })
    }

    /// Its functions and its code range, loaded at `base`.
    pub fn at(&self, base: u64) -> (Vec<Symbol>, (u64, u64, String)) {
        let symbols = self
            .functions
            .iter()
            .map(|(offset, size, name)| Symbol {
                start: base + offset,
                end: base + offset + size,
                component: self.name.clone(),
                name: name.clone(),
            })
            .collect();
        let range = (base, base + self.code.len() as u64, self.name.clone());
        (symbols, range)
    }

    /// Where `code` occurs in the module's code.
    fn places<'a>(
        &'a self,
        index: &'a HashMap<&[u8], Vec<usize>>,
        code: &'a [u8],
    ) -> impl Iterator<Item = usize> + 'a {
        index
            .get(&code[..KEY])
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&at| self.code[at..].starts_with(code))
    }
}

/// How many bytes of a block the search indexes on; shorter blocks say
/// too little to place a module.
const KEY: usize = 8;
/// How many blocks (each found in that module alone) must agree on a
/// module's place.
const VOTES: usize = 2;

/// The offsets of every `KEY` bytes of `code` at an instruction boundary
/// (2 bytes: compressed instructions), by those bytes.
fn index(code: &[u8]) -> HashMap<&[u8], Vec<usize>> {
    let mut index: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for at in (0..code.len().saturating_sub(KEY - 1)).step_by(2) {
        index.entry(&code[at..at + KEY]).or_default().push(at);
    }
    index
}

/// Where each module was loaded, from `blocks` that ran outside the
/// kernel. A block whose code occurs exactly once in exactly one module
/// votes for that module starting at the block's address less its
/// offset; code that several modules have (their libraries' functions,
/// often laid out in the same order) votes for none. A module's place is
/// its most voted one, by `VOTES` blocks at least, where no module placed
/// already lies. Returns (module index, base).
pub fn load_addresses<'a>(
    modules: &[Module],
    blocks: impl Iterator<Item = &'a Block>,
) -> Vec<(usize, u64)> {
    let indexes: Vec<_> = modules.iter().map(|module| index(&module.code)).collect();
    let mut votes: HashMap<(usize, u64), usize> = HashMap::new();
    for block in blocks.filter(|block| block.code.len() >= KEY) {
        let mut found = modules.iter().enumerate().filter_map(|(number, module)| {
            let places: Vec<usize> = module
                .places(&indexes[number], &block.code)
                .take(2)
                .collect();
            (!places.is_empty()).then_some((number, places))
        });
        if let (Some((number, places)), None) = (found.next(), found.next())
            && let [at] = places.as_slice()
        {
            *votes
                .entry((number, block.pc.wrapping_sub(*at as u64)))
                .or_default() += 1;
        }
    }
    let mut ranked: Vec<((usize, u64), usize)> = votes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut places: Vec<(usize, u64)> = Vec::new();
    for ((number, base), count) in ranked {
        let end = base + modules[number].code.len() as u64;
        let taken = places.iter().any(|&(other, at)| {
            other == number || (at < end && base < at + modules[other].code.len() as u64)
        });
        if count >= VOTES && !taken {
            places.push((number, base));
        }
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(start: u64, end: u64, component: &str, name: &str) -> Symbol {
        Symbol {
            start,
            end,
            component: component.into(),
            name: name.into(),
        }
    }

    fn table() -> Symbols {
        Symbols::new(
            vec![
                symbol(0x8020_0100, 0x8020_0180, "kernel", "kernel::trap"),
                symbol(0x8020_0000, 0x8020_0040, "kernel", "kernel::entry"),
                symbol(0x4000_0010, 0x4000_0020, "netstack", "netstack::poll"),
                symbol(0x4000_0010, 0x4000_0020, "netstack", "netstack::alias"),
            ],
            vec![(0x4000_0000, 0x4000_1000, "netstack".into())],
        )
    }

    #[test]
    fn an_address_is_in_the_function_that_covers_it() {
        let symbols = table();
        assert_eq!(symbols.lookup(0x8020_0000), ("kernel", "kernel::entry"));
        assert_eq!(symbols.lookup(0x8020_003e), ("kernel", "kernel::entry"));
        assert_eq!(symbols.lookup(0x8020_0120), ("kernel", "kernel::trap"));
        assert_eq!(symbols.lookup(0x4000_0012), ("netstack", "netstack::alias"));
    }

    #[test]
    fn code_between_functions_is_its_components_or_unknown() {
        let symbols = table();
        assert_eq!(symbols.lookup(0x4000_0800), ("netstack", "?"));
        assert_eq!(symbols.lookup(0x8020_0040), ("unknown", "?"));
        assert_eq!(symbols.lookup(0x8000_0000), ("unknown", "?"));
    }

    #[test]
    fn entries_are_found_by_their_first_address() {
        let symbols = table();
        let entry = symbols.starting_at(0x8020_0100).map(|s| s.name.as_str());
        assert_eq!(entry, Some("kernel::trap"));
        assert!(symbols.starting_at(0x8020_0102).is_none());
    }

    #[test]
    fn names_lose_their_mangling_and_hash() {
        assert_eq!(
            demangle(
                "_ZN10interfaces9scheduler14ISchedulerVtbl5build12instructions17h0123456789abcdefE"
            ),
            "interfaces::scheduler::ISchedulerVtbl::build::instructions"
        );
        assert_eq!(demangle("memcpy"), "memcpy");
    }

    #[test]
    fn blocks_found_once_place_a_module() {
        let code: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
        let module = Module {
            name: "netstack".into(),
            code: code.clone(),
            functions: vec![(0x100, 0x40, "netstack::poll".into())],
        };
        let base = 0x4000_2000;
        let block = |offset: usize| Block {
            pc: base + offset as u64,
            pcs: vec![base + offset as u64],
            code: code[offset..offset + 12].to_vec(),
            last: String::new(),
        };
        let blocks = [block(0x10), block(0x24), block(0x40)];
        // The code repeats every 256 bytes: no block occurs once in it.
        assert_eq!(load_addresses(&[module], blocks.iter()), vec![]);
        let module = Module {
            name: "netstack".into(),
            code: code[..256].to_vec(),
            functions: vec![(0x10, 0x40, "netstack::poll".into())],
        };
        let places = load_addresses(std::slice::from_ref(&module), blocks.iter());
        assert_eq!(places, vec![(0, base)]);
        let (symbols, range) = module.at(base);
        assert_eq!(symbols[0].start, base + 0x10);
        assert_eq!(range, (base, base + 256, "netstack".into()));
    }
}
