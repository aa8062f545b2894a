//! `.def` files: what a module exports and imports, in a few lines of text.
//!
//! ```text
//! # The hello component.
//! module hello
//! export 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {
//!     hello_count @ 1
//! }
//! import kernel 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35
//! ```
//!
//! `module` comes first, once. Each `export` block is one export table: a
//! UUID and `symbol @ ordinal` lines (ordinals from 1; symbols and ordinals
//! unique per table); a module has at most
//! [`MAX_EXPORT_TABLES`] of them.
//! Each `import` names a module and the UUID of the export table wanted; the
//! symbols and ordinals come from that module's own `.def`. `layout paged`
//! asks for an image whose code, read-only data and data each start on a
//! page (format flag `PAGED`), so that a virtual-memory manager can map it
//! page by page with each section's permissions. `#` starts a comment.
//!
//! An export may also declare its C signature after the ordinal, in the
//! small grammar of [`signature`]:
//!
//! ```text
//! tessera_alloc @ 1 fn(size: usize, align: usize) -> *mut u8
//! tessera_now_us @ 8 safe fn() -> u64
//! ```
//!
//! Comment lines directly above an export are its documentation, which
//! generated declarations carry. The kernel's `.def` types every export this way; `tools/bindings`
//! generates the Rust and C declarations from it, and the kernel's build
//! checks its functions against it.

pub mod signature;

pub use signature::{FnSignature, Integer, ParamDef, ReturnDef, TypeDef};

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use com::Guid;

use crate::MAX_EXPORT_TABLES;

/// A parsed `.def` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleDef {
    /// The module's name.
    pub name: String,
    /// Its export tables, in file order.
    pub exports: Vec<ExportTableDef>,
    /// The export tables of other modules it imports from.
    pub imports: Vec<ImportDef>,
    /// `layout paged`: each section starts on a page.
    pub paged: bool,
}

/// One `export` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportTableDef {
    /// The table's UUID.
    pub uuid: Guid,
    /// Its symbols.
    pub symbols: Vec<ExportDef>,
}

/// One `symbol @ ordinal [signature]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDef {
    /// The symbol's name in the module.
    pub name: String,
    /// Its ordinal in the table.
    pub ordinal: u32,
    /// Its signature, when the line declares one.
    pub signature: Option<FnSignature>,
    /// The comment lines directly above it, without their `#`, joined by
    /// newlines (empty when there are none).
    pub doc: String,
}

/// One `import` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportDef {
    /// The exporting module.
    pub module: String,
    /// The export table wanted.
    pub uuid: Guid,
}

/// A `.def` file that cannot be used, with the line at fault (from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefError {
    /// The line (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl core::error::Error for DefError {}

impl ModuleDef {
    /// The export table named `uuid`.
    pub fn export_table(&self, uuid: Guid) -> Option<&ExportTableDef> {
        self.exports.iter().find(|table| table.uuid == uuid)
    }
}

/// Parses a `.def` file.
pub fn parse(text: &str) -> Result<ModuleDef, DefError> {
    let mut parser = Parser::default();
    // Comment lines directly above an export document it.
    let mut doc: Vec<&str> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let (code, comment) = line.split_once('#').unwrap_or((line, ""));
        let words: Vec<&str> = code.split_whitespace().collect();
        if words.is_empty() {
            if comment.is_empty() {
                doc.clear();
            } else {
                doc.push(comment.strip_prefix(' ').unwrap_or(comment).trim_end());
            }
            continue;
        }
        parser
            .line(&words, doc.join("\n"))
            .map_err(|message| DefError {
                line: index + 1,
                message,
            })?;
        doc.clear();
    }
    parser.finish()
}

/// The parser's state between lines.
#[derive(Default)]
struct Parser {
    module: Option<ModuleDef>,
    /// The export block being read, if inside one.
    open: Option<OpenTable>,
    /// The imports declared so far.
    imports: BTreeSet<(String, Guid)>,
}

/// An export block being read, with its symbols indexed by ordinal and by
/// name so that each line is checked in logarithmic time.
#[derive(Default)]
struct OpenTable {
    table: ExportTableDef,
    /// Each ordinal's symbol, as an index into `table.symbols`.
    by_ordinal: BTreeMap<u32, usize>,
    /// Each name's symbol, as an index into `table.symbols`.
    by_name: BTreeMap<String, usize>,
}

impl Parser {
    fn line(&mut self, words: &[&str], doc: String) -> Result<(), String> {
        if let Some(open) = &mut self.open {
            return match words {
                ["}"] => self.close_table(),
                [symbol, "@", ordinal, signature @ ..] => {
                    open.add_export(symbol, ordinal, &signature.join(" "), doc)
                }
                _ => Err(format!(
                    "expected `symbol @ ordinal [signature]` or `}}`, found `{}`",
                    words.join(" ")
                )),
            };
        }
        match (words, &mut self.module) {
            (["module", name], None) => {
                check_module_name(name)?;
                self.module = Some(ModuleDef {
                    name: name.to_string(),
                    ..ModuleDef::default()
                });
                Ok(())
            }
            (["module", ..], Some(_)) => Err("a second `module` line".into()),
            (_, None) => Err("the first line must be `module <name>`".into()),
            (["export", uuid, "{"], Some(module)) => {
                let uuid = parse_uuid(uuid)?;
                if module.export_table(uuid).is_some() {
                    return Err(format!("export table {uuid} declared twice"));
                }
                if module.exports.len() >= MAX_EXPORT_TABLES as usize {
                    return Err(format!("more than {MAX_EXPORT_TABLES} export tables"));
                }
                self.open = Some(OpenTable {
                    table: ExportTableDef {
                        uuid,
                        symbols: Vec::new(),
                    },
                    ..OpenTable::default()
                });
                Ok(())
            }
            (["layout", "paged"], Some(module)) => {
                if module.paged {
                    return Err("a second `layout paged` line".into());
                }
                module.paged = true;
                Ok(())
            }
            (["import", name, uuid], Some(module)) => {
                check_module_name(name)?;
                let import = ImportDef {
                    module: name.to_string(),
                    uuid: parse_uuid(uuid)?,
                };
                if !self.imports.insert((import.module.clone(), import.uuid)) {
                    return Err(format!("import of {name} {uuid} declared twice"));
                }
                module.imports.push(import);
                Ok(())
            }
            _ => Err(format!(
                "expected `export <uuid> {{`, `import <module> <uuid>` or `layout paged`, found `{}`",
                words.join(" ")
            )),
        }
    }

    fn close_table(&mut self) -> Result<(), String> {
        let (Some(open), Some(module)) = (self.open.take(), &mut self.module) else {
            return Err("`}` outside an export block".into());
        };
        module.exports.push(open.table);
        Ok(())
    }

    fn finish(self) -> Result<ModuleDef, DefError> {
        let error = |message: &str| DefError {
            line: 0,
            message: message.into(),
        };
        if self.open.is_some() {
            return Err(error("an export block is not closed with `}`"));
        }
        self.module.ok_or_else(|| error("no `module <name>` line"))
    }
}

impl OpenTable {
    fn add_export(
        &mut self,
        symbol: &str,
        ordinal: &str,
        signature: &str,
        doc: String,
    ) -> Result<(), String> {
        check_symbol(symbol)?;
        let ordinal: u32 = ordinal
            .parse()
            .ok()
            .filter(|&ordinal| ordinal > 0)
            .ok_or_else(|| {
                format!(
                    "ordinal `{ordinal}` of {symbol} is not a number from 1 to {}",
                    u32::MAX
                )
            })?;
        let clash = self
            .by_ordinal
            .get(&ordinal)
            .or_else(|| self.by_name.get(symbol));
        if let Some(earlier) = clash.and_then(|&index| self.table.symbols.get(index)) {
            return Err(format!(
                "{symbol} @ {ordinal} clashes with {} @ {}",
                earlier.name, earlier.ordinal
            ));
        }
        let signature = match signature {
            "" => None,
            text => Some(signature::parse(text).map_err(|error| format!("{symbol}: {error}"))?),
        };
        let index = self.table.symbols.len();
        self.by_ordinal.insert(ordinal, index);
        self.by_name.insert(symbol.to_string(), index);
        self.table.symbols.push(ExportDef {
            name: symbol.to_string(),
            ordinal,
            signature,
            doc,
        });
        Ok(())
    }
}

fn parse_uuid(text: &str) -> Result<Guid, String> {
    Guid::parse(text)
        .ok_or_else(|| format!("`{text}` is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"))
}

/// Module names become namespace names, so they are one path segment.
fn check_module_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
        && name != "."
        && name != "..";
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a module name (letters, digits, _ - .)"
        ))
    }
}

/// Symbols are C identifiers (what `#[unsafe(no_mangle)]` functions are called).
fn check_symbol(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let valid = bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a symbol name"))
    }
}
