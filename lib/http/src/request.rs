//! The request head: request line and header fields (RFC 9112), parsed
//! strictly and within [`Limits`].

use crate::response::StatusCode;

/// The bounds a request's head must keep within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest request line, without its CRLF (longer: 414).
    pub request_line: usize,
    /// The longest header field line, without its CRLF (longer: 431).
    pub field_line: usize,
    /// The most header fields (more: 431).
    pub fields: usize,
    /// The longest head: request line, fields and the empty line that
    /// ends them, CRLFs included (longer: 431).
    pub head: usize,
    /// The longest body the server takes, and discards (longer: 413).
    pub body: u64,
}

impl Limits {
    /// What the status page accepts: browsers' requests fit easily.
    pub const DEFAULT: Limits = Limits {
        request_line: 2048,
        field_line: 2048,
        fields: 64,
        head: 8192,
        body: 4096,
    };
}

/// The methods the server implements; other well-formed ones are 501.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: as `GET`, without the body.
    Head,
}

/// The protocol versions the server speaks; other `HTTP/x.y` are 505.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: the connection closes unless asked to stay open.
    Http10,
    /// `HTTP/1.1`: the connection stays open unless asked to close.
    Http11,
}

/// A parsed request head; its texts borrow the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path of the target (`/status.json`), without the query.
    pub path: &'a str,
    /// The query after `?`, if any (without the `?`).
    pub query: Option<&'a str>,
    /// The protocol version.
    pub version: Version,
    /// The connection stays open after the response.
    pub keep_alive: bool,
    /// The length of the body that follows the head.
    pub content_length: u64,
    /// The bytes of the head, its final empty line included: the body
    /// (or the next request) starts there.
    pub head_length: usize,
}

/// What [`parse`] made of the bytes received so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parse<'a> {
    /// The head is complete.
    Complete(Request<'a>),
    /// The head is not complete yet, and within the limits so far.
    Incomplete,
}

/// Why a request is refused; [`Error::status`] says how to answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// 400: the head is not well-formed; the text says what is wrong.
    BadRequest(&'static str),
    /// 413: the body is longer than [`Limits::body`].
    ContentTooLarge,
    /// 414: the request line is longer than [`Limits::request_line`].
    UriTooLong,
    /// 431: a field line, the fields' count or the head is too large.
    FieldsTooLarge,
    /// 501: a well-formed method other than GET and HEAD, or a transfer
    /// coding (the server takes no chunked bodies).
    NotImplemented,
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
}

impl Error {
    /// The status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::ContentTooLarge => StatusCode::CONTENT_TOO_LARGE,
            Error::UriTooLong => StatusCode::URI_TOO_LONG,
            Error::FieldsTooLarge => StatusCode::FIELDS_TOO_LARGE,
            Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Error::VersionNotSupported => StatusCode::VERSION_NOT_SUPPORTED,
        }
    }

    /// A sentence for the response's body.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::BadRequest(why) => why,
            Error::ContentTooLarge => "the request's body is too long",
            Error::UriTooLong => "the request line is too long",
            Error::FieldsTooLarge => "the request's header fields are too large",
            Error::NotImplemented => "only GET and HEAD without transfer codings are implemented",
            Error::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are supported",
        }
    }
}

/// Parses the request head at the start of `bytes` (what was received
/// so far) within `limits`.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Parse<'a>, Error> {
    let Some(head_length) = head_end(bytes, limits)? else {
        return Ok(Parse::Incomplete);
    };
    // The head is ASCII plus, in field values, obs-text: read it as bytes.
    let head = bytes.get(..head_length - 4).unwrap_or_default();
    let mut lines = Lines(head);
    let request_line = lines.next().unwrap_or_default();
    let (method, target, version) = request_line_parts(request_line)?;
    let mut fields = Fields::new(version);
    for (count, line) in lines.enumerate() {
        if count >= limits.fields {
            return Err(Error::FieldsTooLarge);
        }
        fields.take(line)?;
    }
    let method = method?;
    let (path, query) = split_target(target)?;
    let content_length = fields.content_length()?;
    if content_length > limits.body {
        return Err(Error::ContentTooLarge);
    }
    Ok(Parse::Complete(Request {
        method,
        path,
        query,
        version,
        keep_alive: fields.keep_alive(),
        content_length,
        head_length,
    }))
}

/// Where the head ends (after its empty line), if it is there; an error
/// as soon as a line or the head is too long.
fn head_end(bytes: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
    let mut start = 0;
    let mut first = true;
    loop {
        let rest = bytes.get(start..).unwrap_or_default();
        let line_end = rest.iter().position(|&byte| byte == b'\n');
        let length = line_end.unwrap_or(rest.len());
        // A line's length without its CR, counted before it is complete.
        let content = length.saturating_sub(usize::from(line_end.is_some()));
        let longest = if first {
            limits.request_line
        } else {
            limits.field_line
        };
        if content > longest {
            return Err(if first {
                Error::UriTooLong
            } else {
                Error::FieldsTooLarge
            });
        }
        let Some(length) = line_end else {
            return if start + length >= limits.head {
                Err(Error::FieldsTooLarge)
            } else {
                Ok(None)
            };
        };
        let end = start + length + 1;
        if end > limits.head {
            return Err(Error::FieldsTooLarge);
        }
        if rest.get(..length) == Some(&b"\r"[..]) && !first {
            return Ok(Some(end));
        }
        if !rest.get(..length).is_some_and(|line| line.ends_with(b"\r")) {
            return Err(Error::BadRequest("a line does not end with CRLF"));
        }
        first = false;
        start = end;
    }
}

/// The lines of a head whose lines all end with CRLF (the last one's
/// CRLF cut off).
struct Lines<'a>(&'a [u8]);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        match self.0.windows(2).position(|pair| pair == b"\r\n") {
            Some(at) => {
                let line = self.0.get(..at);
                self.0 = self.0.get(at + 2..).unwrap_or_default();
                line
            }
            None => Some(core::mem::take(&mut self.0)),
        }
    }
}

/// The request line's method (an error if not implemented, reported
/// once the head is known well-formed), target and version.
type RequestLine<'a> = (Result<Method, Error>, &'a [u8], Version);

/// `method SP request-target SP HTTP-version`, single spaces.
fn request_line_parts(line: &[u8]) -> Result<RequestLine<'_>, Error> {
    let mut parts = line.split(|&byte| byte == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::BadRequest(
            "the request line is not: method, target, version",
        ));
    };
    if !is_token(method) {
        return Err(Error::BadRequest("the method is not a token"));
    }
    let method = match method {
        b"GET" => Ok(Method::Get),
        b"HEAD" => Ok(Method::Head),
        _ => Err(Error::NotImplemented),
    };
    Ok((method, target, parse_version(version)?))
}

/// `HTTP/1.0` or `HTTP/1.1`; another `HTTP/d.d` is 505.
fn parse_version(text: &[u8]) -> Result<Version, Error> {
    match text {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(Error::VersionNotSupported)
        }
        _ => Err(Error::BadRequest("the version is not HTTP/d.d")),
    }
}

/// The path and query of an origin-form target (`/path?query`), or of an
/// absolute-form one (`http://host/path?query`, as sent to proxies, which
/// a server must accept too).
fn split_target(target: &[u8]) -> Result<(&str, Option<&str>), Error> {
    if !target.iter().all(|&byte| (0x21..0x7f).contains(&byte)) {
        return Err(Error::BadRequest("the target holds a byte it may not"));
    }
    let text = core::str::from_utf8(target).map_err(|_| Error::BadRequest("not ASCII"))?;
    let origin = match strip_prefix_ignore_case(text, "http://") {
        Some(rest) => rest
            .find('/')
            .map_or("/", |at| rest.get(at..).unwrap_or("/")),
        None => text,
    };
    if !origin.starts_with('/') {
        return Err(Error::BadRequest("the target is not a path"));
    }
    Ok(match origin.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (origin, None),
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// What the header fields said, as far as the server cares.
struct Fields {
    version: Version,
    hosts: u32,
    content_length: Option<u64>,
    chunked_or_coded: bool,
    close: bool,
    keep_alive: bool,
}

impl Fields {
    fn new(version: Version) -> Fields {
        Fields {
            version,
            hosts: 0,
            content_length: None,
            chunked_or_coded: false,
            close: false,
            keep_alive: false,
        }
    }

    /// Takes one `name: value` line.
    fn take(&mut self, line: &[u8]) -> Result<(), Error> {
        if line
            .first()
            .is_some_and(|&byte| byte == b' ' || byte == b'\t')
        {
            return Err(Error::BadRequest("folded header lines are not accepted"));
        }
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or(Error::BadRequest("a header line has no colon"))?;
        let (name, value) = (line.get(..colon).unwrap_or_default(), line.get(colon + 1..));
        if !is_token(name) {
            return Err(Error::BadRequest("a header name is not a token"));
        }
        let value = trim(value.unwrap_or_default());
        if !value.iter().all(|&byte| {
            byte == b'\t' || byte == b' ' || (0x21..0x7f).contains(&byte) || byte >= 0x80
        }) {
            return Err(Error::BadRequest("a header value holds a control byte"));
        }
        self.interpret(name, value)
    }

    /// Notes what a field the server cares about says.
    fn interpret(&mut self, name: &[u8], value: &[u8]) -> Result<(), Error> {
        if name.eq_ignore_ascii_case(b"host") {
            self.hosts += 1;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let length = parse_length(value)?;
            if self.content_length.is_some_and(|seen| seen != length) {
                return Err(Error::BadRequest("two different Content-Length fields"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.chunked_or_coded = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&byte| byte == b',').map(trim) {
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        Ok(())
    }

    /// The body's length; a transfer coding, which the server does not
    /// decode, is refused, and one alongside a length is malformed.
    fn content_length(&self) -> Result<u64, Error> {
        if self.version == Version::Http11 && self.hosts != 1 {
            return Err(Error::BadRequest(
                "an HTTP/1.1 request needs one Host field",
            ));
        }
        if self.hosts > 1 {
            return Err(Error::BadRequest("more than one Host field"));
        }
        match (self.chunked_or_coded, self.content_length) {
            (true, Some(_)) => Err(Error::BadRequest(
                "both Transfer-Encoding and Content-Length",
            )),
            (true, None) => Err(Error::NotImplemented),
            (false, length) => Ok(length.unwrap_or(0)),
        }
    }

    /// Whether the connection stays open after the response.
    fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive && !self.close,
        }
    }
}

/// A decimal length, digits only (no sign, no spaces inside).
fn parse_length(value: &[u8]) -> Result<u64, Error> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(Error::BadRequest("Content-Length is not a number"));
    }
    value.iter().try_fold(0u64, |length, &digit| {
        length
            .checked_mul(10)
            .and_then(|length| length.checked_add(u64::from(digit - b'0')))
            // Longer than any limit: too large, not malformed.
            .ok_or(Error::ContentTooLarge)
    })
}

/// Without leading and trailing spaces and tabs.
fn trim(bytes: &[u8]) -> &[u8] {
    let is_space = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes
        .iter()
        .position(|byte| !is_space(byte))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|byte| !is_space(byte))
        .map_or(start, |at| at + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A token (RFC 9110): one or more of the visible characters but
/// delimiters.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}
