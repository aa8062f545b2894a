//! JSON string literals: text written with the escapes RFC 8259 asks for,
//! so any name the system reports (a thread's, a module's) makes valid
//! JSON.

use core::fmt::{self, Display, Write};

/// Displays its text as a quoted JSON string.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a>(pub &'a str);

impl Display for Text<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_char('"')?;
        for character in self.0.chars() {
            match character {
                '"' => out.write_str("\\\"")?,
                '\\' => out.write_str("\\\\")?,
                '\n' => out.write_str("\\n")?,
                '\r' => out.write_str("\\r")?,
                '\t' => out.write_str("\\t")?,
                // `<` escaped too, so `</script>` in a name cannot end a
                // script the text is embedded in.
                '\u{0}'..='\u{1f}' | '<' => write!(out, "\\u{:04x}", u32::from(character))?,
                other => out.write_char(other)?,
            }
        }
        out.write_char('"')
    }
}
