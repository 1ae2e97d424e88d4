//! IPC messages: [`Request`] and [`Response`].
//!
//! Requests are synchronous: the registry routes one to its target by name
//! or capability, calls the target's handler, and returns its response (see
//! [`crate::Registry::request`] for the rules and limits).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// A request from one module (or the kernel) to another.
///
/// `source` must be the sender's registered name when a module sends it;
/// the kernel may use any name.
///
/// ```
/// use helix_modules::v2::Request;
/// let r = Request { source: "shell", request_type: String::from("get_status"), payload: vec![] };
/// assert_eq!(r, Request::new("shell", "get_status", vec![]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Name of the sender.
    pub source: &'static str,
    /// What is asked, interpreted by the target.
    pub request_type: String,
    /// Arguments, interpreted by the target.
    pub payload: Vec<u8>,
}

impl Request {
    /// Builds a request.
    pub fn new(source: &'static str, request_type: &str, payload: Vec<u8>) -> Self {
        Request {
            source,
            request_type: String::from(request_type),
            payload,
        }
    }
}

/// The target's answer to a [`Request`].
///
/// An error response is still a served request: the handler understood the
/// call and declined it. A handler returning `Err` is a failed request.
///
/// ```
/// use helix_modules::v2::Response;
/// let ok = Response::ok(b"OK".to_vec());
/// assert!(ok.is_ok());
/// let no = Response::err("Unknown request");
/// assert_eq!(no.error.as_deref(), Some("Unknown request"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Result data; empty for errors.
    pub payload: Vec<u8>,
    /// Why the request was declined; `None` on success.
    pub error: Option<Cow<'static, str>>,
}

impl Response {
    /// A successful response carrying `payload`.
    pub fn ok(payload: Vec<u8>) -> Self {
        Response {
            payload,
            error: None,
        }
    }

    /// A declined request with a reason.
    pub fn err(reason: impl Into<Cow<'static, str>>) -> Self {
        Response {
            payload: Vec::new(),
            error: Some(reason.into()),
        }
    }

    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}
