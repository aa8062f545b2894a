//! Response heads: the status line and the header fields the server
//! sends.

use core::fmt::{self, Write};

/// A response's status: its code and reason phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusCode {
    /// The three-digit code.
    pub code: u16,
    /// The reason phrase (RFC 9110's).
    pub reason: &'static str,
}

impl StatusCode {
    /// 200: here it is.
    pub const OK: StatusCode = StatusCode::new(200, "OK");
    /// 400: the request is malformed.
    pub const BAD_REQUEST: StatusCode = StatusCode::new(400, "Bad Request");
    /// 404: nothing is served at that path.
    pub const NOT_FOUND: StatusCode = StatusCode::new(404, "Not Found");
    /// 408: the request did not come in time.
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode::new(408, "Request Timeout");
    /// 413: the body is too long.
    pub const CONTENT_TOO_LARGE: StatusCode = StatusCode::new(413, "Content Too Large");
    /// 414: the request line is too long.
    pub const URI_TOO_LONG: StatusCode = StatusCode::new(414, "URI Too Long");
    /// 431: the header fields are too large.
    pub const FIELDS_TOO_LARGE: StatusCode =
        StatusCode::new(431, "Request Header Fields Too Large");
    /// 500: the server could not make the response.
    pub const INTERNAL_ERROR: StatusCode = StatusCode::new(500, "Internal Server Error");
    /// 501: the method is not implemented.
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode::new(501, "Not Implemented");
    /// 503: the server has no room for another connection.
    pub const UNAVAILABLE: StatusCode = StatusCode::new(503, "Service Unavailable");
    /// 505: the HTTP version is not supported.
    pub const VERSION_NOT_SUPPORTED: StatusCode =
        StatusCode::new(505, "HTTP Version Not Supported");

    const fn new(code: u16, reason: &'static str) -> StatusCode {
        StatusCode { code, reason }
    }
}

/// What a response's head says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The status.
    pub status: StatusCode,
    /// The body's media type (`text/html; charset=utf-8`).
    pub content_type: &'a str,
    /// The body's length in bytes (sent even for HEAD).
    pub content_length: usize,
    /// The connection stays open for another request.
    pub keep_alive: bool,
}

/// Writes `head` as an HTTP/1.1 response head, its empty line included.
/// Responses are never cached: the status changes all the time.
pub fn write_head(out: &mut impl Write, head: &Head<'_>) -> fmt::Result {
    let connection = if head.keep_alive {
        "keep-alive"
    } else {
        "close"
    };
    write!(
        out,
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: {connection}\r\n\r\n",
        head.status.code, head.status.reason, head.content_type, head.content_length
    )
}
