//! Typed export entries: the signature after `symbol @ ordinal`, its small
//! type grammar, and how each type is spelled in Rust and in C.
//!
//! ```text
//! signature := ["safe"] "fn" "(" [param {"," param}] ")" ["->" return]
//! param     := name ":" type
//! type      := u8 | u16 | u32 | u64 | usize | i8 | i16 | i32 | i64 | isize
//!            | "*const" pointee | "*mut" pointee
//! pointee   := type | void
//! return    := type | "!"
//! ```
//!
//! Every function is `extern "C"`. Without `safe`, Rust callers need
//! `unsafe` to call it; with it, the kernel's function must be a safe one.
//! `!` means the function never returns. Names are C identifiers that are
//! keywords of neither language.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The signature of an exported function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnSignature {
    /// Whether Rust may call it without `unsafe` (`safe fn`).
    pub safe: bool,
    /// Its parameters, in order.
    pub params: Vec<ParamDef>,
    /// What it returns.
    pub returns: ReturnDef,
}

/// One named parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDef {
    /// Its name (a C identifier, a keyword of neither language).
    pub name: String,
    /// Its type.
    pub ty: TypeDef,
}

/// What a function returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReturnDef {
    /// Nothing (no `->`): Rust `()`, C `void`.
    Nothing,
    /// It never returns (`-> !`): Rust `!`, C `_Noreturn void`.
    Never,
    /// A value of this type.
    Value(TypeDef),
}

/// A type that crosses the kernel ABI: an integer or a raw pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeDef {
    /// An integer, by value.
    Integer(Integer),
    /// A raw pointer.
    Pointer {
        /// `*mut` (true) or `*const` (false).
        mutable: bool,
        /// What it points to; `None` for `void` (Rust `core::ffi::c_void`).
        to: Option<Box<TypeDef>>,
    },
}

/// Declares the integer types with their spelling in the `.def`, in Rust
/// and in C, in one table.
macro_rules! integers {
    ($($variant:ident = $def:literal, $c:literal;)*) => {
        /// The integer types of the grammar.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Integer {
            $(#[doc = concat!("`", $def, "`, C `", $c, "`.")] $variant,)*
        }

        impl Integer {
            /// Every integer type, in declaration order.
            pub const ALL: &[Integer] = &[$(Integer::$variant),*];

            /// Its name in a `.def` file, which is also its Rust name.
            pub const fn name(self) -> &'static str {
                match self { $(Integer::$variant => $def,)* }
            }

            /// Its C spelling (from `<stdint.h>` and `<stddef.h>`).
            pub const fn c(self) -> &'static str {
                match self { $(Integer::$variant => $c,)* }
            }
        }
    };
}

integers! {
    U8 = "u8", "uint8_t";
    U16 = "u16", "uint16_t";
    U32 = "u32", "uint32_t";
    U64 = "u64", "uint64_t";
    Usize = "usize", "size_t";
    I8 = "i8", "int8_t";
    I16 = "i16", "int16_t";
    I32 = "i32", "int32_t";
    I64 = "i64", "int64_t";
    Isize = "isize", "intptr_t";
}

impl TypeDef {
    /// Its Rust spelling, with paths that resolve anywhere.
    pub fn rust(&self) -> String {
        match self {
            TypeDef::Integer(integer) => integer.name().to_string(),
            TypeDef::Pointer { mutable, to } => {
                let pointee = to
                    .as_ref()
                    .map_or_else(|| "core::ffi::c_void".to_string(), |to| to.rust());
                let kind = if *mutable { "mut" } else { "const" };
                format!("*{kind} {pointee}")
            }
        }
    }

    /// Its C spelling; a pointer's ends with `*`.
    pub fn c(&self) -> String {
        match self {
            TypeDef::Integer(integer) => integer.c().to_string(),
            TypeDef::Pointer { mutable, to } => {
                let pointee = to.as_ref().map_or_else(|| "void".to_string(), |to| to.c());
                let pointee_is_pointer = to
                    .as_deref()
                    .is_some_and(|to| matches!(to, TypeDef::Pointer { .. }));
                // `const void **`, `int64_t *const *`: a pointer's `*`
                // binds to what follows it.
                match (mutable, pointee_is_pointer) {
                    (true, _) => c_pointer_to(&pointee),
                    (false, false) => format!("const {pointee} *"),
                    (false, true) => format!("{pointee}const *"),
                }
            }
        }
    }

    /// A C declaration of `name` with this type: `size_t size`, `void *block`.
    pub fn c_declaration(&self, name: &str) -> String {
        c_declaration(&self.c(), name)
    }
}

impl ReturnDef {
    /// Its Rust spelling after `->`, or `None` when it returns nothing.
    pub fn rust(&self) -> Option<String> {
        match self {
            ReturnDef::Nothing => None,
            ReturnDef::Never => Some("!".to_string()),
            ReturnDef::Value(ty) => Some(ty.rust()),
        }
    }
}

impl FnSignature {
    /// The Rust function-pointer type, for example
    /// `unsafe extern "C" fn(usize, usize) -> *mut u8` (without `unsafe`
    /// for a `safe fn`).
    pub fn rust_fn_pointer(&self) -> String {
        let types: Vec<String> = self.params.iter().map(|param| param.ty.rust()).collect();
        let unsafety = if self.safe { "" } else { "unsafe " };
        let returns = self.returns.rust().map(|ty| format!(" -> {ty}"));
        format!(
            "{unsafety}extern \"C\" fn({}){}",
            types.join(", "),
            returns.unwrap_or_default()
        )
    }

    /// The Rust parameter list and return, as in a declaration:
    /// `(size: usize, align: usize) -> *mut u8`.
    pub fn rust_parameters(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|param| format!("{}: {}", param.name, param.ty.rust()))
            .collect();
        let returns = self.returns.rust().map(|ty| format!(" -> {ty}"));
        format!("({}){}", params.join(", "), returns.unwrap_or_default())
    }

    /// A C prototype of the function `name`, without the `;`.
    pub fn c_prototype(&self, name: &str) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|param| param.ty.c_declaration(&param.name))
            .collect();
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        let returns = match &self.returns {
            ReturnDef::Nothing => "void".to_string(),
            ReturnDef::Never => "_Noreturn void".to_string(),
            ReturnDef::Value(ty) => ty.c(),
        };
        format!("{}({params})", c_declaration(&returns, name))
    }
}

/// A C declaration of `name` with the C type `ty`: `size_t size`, and
/// without a space after a pointer's `*`, `void *block`.
pub fn c_declaration(ty: &str, name: &str) -> String {
    if ty.ends_with('*') {
        format!("{ty}{name}")
    } else {
        format!("{ty} {name}")
    }
}

/// The C type of a pointer to the C type `ty`: `uint32_t *`, `void **`.
pub fn c_pointer_to(ty: &str) -> String {
    if ty.ends_with('*') {
        format!("{ty}*")
    } else {
        format!("{ty} *")
    }
}

/// The keywords of C (C11 and C23), which generated C must not use as names.
pub const C_KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "auto",
    "bool",
    "break",
    "case",
    "char",
    "const",
    "constexpr",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "false",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "nullptr",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "struct",
    "switch",
    "thread_local",
    "true",
    "typedef",
    "typeof",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
];

/// The keywords of Rust, strict and reserved, and the grammar's `safe`.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "safe", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Parses the text after `symbol @ ordinal`.
pub(super) fn parse(text: &str) -> Result<FnSignature, String> {
    let mut tokens = Tokens::new(text)?;
    let safe = tokens.next_if("safe");
    tokens.expect("fn")?;
    tokens.expect("(")?;
    let mut params: Vec<ParamDef> = Vec::new();
    if !tokens.next_if(")") {
        loop {
            let param = parse_param(&mut tokens)?;
            if params.iter().any(|earlier| earlier.name == param.name) {
                return Err(format!("parameter `{}` is named twice", param.name));
            }
            params.push(param);
            if tokens.next_if(")") {
                break;
            }
            tokens.expect(",")?;
        }
    }
    let returns = if tokens.next_if("->") {
        if tokens.next_if("!") {
            ReturnDef::Never
        } else {
            ReturnDef::Value(parse_type(&mut tokens)?)
        }
    } else {
        ReturnDef::Nothing
    };
    match tokens.next() {
        None => Ok(FnSignature {
            safe,
            params,
            returns,
        }),
        Some(extra) => Err(format!("unexpected `{extra}` after the signature")),
    }
}

fn parse_param(tokens: &mut Tokens<'_>) -> Result<ParamDef, String> {
    let name = tokens.next().unwrap_or_default();
    let identifier = name
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_');
    if !identifier || C_KEYWORDS.contains(&name) || RUST_KEYWORDS.contains(&name) {
        return Err(format!(
            "`{name}` is not a parameter name (a C identifier, no Rust or C keyword)"
        ));
    }
    tokens.expect(":")?;
    Ok(ParamDef {
        name: name.to_string(),
        ty: parse_type(tokens)?,
    })
}

fn parse_type(tokens: &mut Tokens<'_>) -> Result<TypeDef, String> {
    if tokens.next_if("*") {
        let mutable = match tokens.next() {
            Some("mut") => true,
            Some("const") => false,
            other => {
                return Err(format!(
                    "expected `const` or `mut` after `*`, found `{}`",
                    other.unwrap_or("the end")
                ));
            }
        };
        let to = if tokens.next_if("void") {
            None
        } else {
            Some(Box::new(parse_type(tokens)?))
        };
        return Ok(TypeDef::Pointer { mutable, to });
    }
    let word = tokens.next();
    Integer::ALL
        .iter()
        .find(|integer| Some(integer.name()) == word)
        .map(|&integer| TypeDef::Integer(integer))
        .ok_or_else(|| {
            format!(
                "expected a type (u8 … u64, usize, i8 … i64, isize, *const T, *mut T), found `{}`",
                word.unwrap_or("the end")
            )
        })
}

/// The tokens of a signature: identifiers and `( ) , : -> * !`.
struct Tokens<'a> {
    tokens: Vec<&'a str>,
    next: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut rest = text.trim_start();
        while let Some(first) = rest.chars().next() {
            let length = if first.is_ascii_alphanumeric() || first == '_' {
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len())
            } else if rest.starts_with("->") {
                2
            } else if "(),:*!".contains(first) {
                1
            } else {
                return Err(format!("unexpected `{first}` in the signature"));
            };
            let (token, after) = rest.split_at(length);
            tokens.push(token);
            rest = after.trim_start();
        }
        Ok(Tokens { tokens, next: 0 })
    }

    fn next(&mut self) -> Option<&'a str> {
        let token = self.tokens.get(self.next).copied();
        self.next += 1;
        token
    }

    /// Takes the next token if it is `wanted`.
    fn next_if(&mut self, wanted: &str) -> bool {
        let found = self.tokens.get(self.next) == Some(&wanted);
        self.next += usize::from(found);
        found
    }

    fn expect(&mut self, wanted: &str) -> Result<(), String> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            other => Err(format!(
                "expected `{wanted}`, found `{}`",
                other.unwrap_or("the end")
            )),
        }
    }
}
