//! Keeps the figures the docs quote true: after `cargo xtask bench` measures, every table row
//! in `docs/` that names a figure takes the value just measured.
//!
//! A row names a figure when its first cell starts with the figure's name in backticks, exactly
//! as the bench prints it; its second cell is the value (`| `yield ...` (one way) | 149 | ≤ 150 |`).
//! Prose that quotes a figure is not touched: keep current figures in such tables.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

/// Brings every figure row of the Markdown files in `docs` up to date with `measured` (name,
/// value) and says which files changed.
pub fn update(docs: &Path, measured: &[(&str, u64)]) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(docs)
        .with_context(|| format!("listing {}", docs.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.extension().is_none_or(|extension| extension != "md") {
            continue;
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let (updated, changed) = update_text(&text, measured);
        if changed > 0 {
            fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "xtask: {}: {changed} figure(s) brought up to date",
                path.display()
            );
        }
    }
    Ok(())
}

/// `text` with each figure row's value replaced by the measured one, and how many changed.
fn update_text(text: &str, measured: &[(&str, u64)]) -> (String, usize) {
    let mut changed = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match updated_row(line, measured) {
            Some(row) if row != line => {
                changed += 1;
                out.push_str(&row);
            }
            _ => out.push_str(line),
        }
    }
    (out, changed)
}

/// The row with its value cell set to the measured figure it names, if it names one.
fn updated_row(line: &str, measured: &[(&str, u64)]) -> Option<String> {
    let rest = line.strip_prefix("| `")?;
    let (name, _) = rest.split_once('`')?;
    let value = measured.iter().find(|(figure, _)| *figure == name)?.1;
    let mut cells: Vec<&str> = line.split('|').collect();
    // ["", first, second, ...]: the value is the second cell.
    let cell = cells.get(2)?;
    if !is_number(cell.trim()) {
        return None;
    }
    let replacement = format!(" {} ", with_separators(value));
    cells[2] = &replacement;
    Some(cells.join("|"))
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || c == ',')
}

/// `1234567` as `1,234,567`, as the docs write numbers.
pub fn with_separators(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEASURED: &[(&str, u64)] = &[("zero-fill page fault", 1375), ("vmm unload", 19191)];

    #[test]
    fn a_named_row_takes_the_measured_value() {
        let text = "intro 1,362\n| `zero-fill page fault` (from the trap) | 1,362 | ≤ 1,500 |\n";
        let (updated, changed) = update_text(text, MEASURED);
        assert_eq!(changed, 1);
        assert_eq!(
            updated,
            "intro 1,362\n| `zero-fill page fault` (from the trap) | 1,375 | ≤ 1,500 |\n"
        );
    }

    #[test]
    fn rows_that_name_no_figure_or_hold_no_number_stay() {
        let text = "| `vmm` | 19,961 |\n| `vmm unload` | — |\n| vmm unload | 5 |\n| `vmm unload` | 19,191 |\n";
        assert_eq!(update_text(text, MEASURED), (text.to_owned(), 0));
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(with_separators(7), "7");
        assert_eq!(with_separators(1000), "1,000");
        assert_eq!(with_separators(1155742), "1,155,742");
    }
}
