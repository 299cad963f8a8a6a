//! The request headers the access pipeline reads: `Authorization` and the
//! break-glass reason. Each must come at most once — with two, which one
//! counts would be a guess (and a proxy and the gateway could guess
//! differently), so the request is refused with 400 before anything else.
//! A break-glass reason is text in any language: raw UTF-8 in
//! `X-Break-Glass-Reason`, or RFC 8187 in `X-Break-Glass-Reason*` (which
//! wins when both are sent, as `filename*` does in RFC 6266).

use std::borrow::Cow;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use icr_policy::ReasonEncodingError;

use crate::outcome::Stop;

/// `X-Break-Glass-Reason`: the reason as the value's own (UTF-8) bytes.
const BREAK_GLASS: HeaderName = HeaderName::from_static("x-break-glass-reason");
/// `X-Break-Glass-Reason*`: the reason as an RFC 8187 value.
const BREAK_GLASS_EXT: HeaderName = HeaderName::from_static("x-break-glass-reason*");

/// Why a request's headers cannot be read. Messages name the header,
/// never its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// The header was sent more than once.
    Duplicate(&'static str),
    /// The break-glass reason is not text in an accepted encoding.
    BreakGlass {
        /// The header as written in the API description.
        header: &'static str,
        /// What is wrong with it.
        why: ReasonEncodingError,
    },
}

impl HeaderError {
    /// The 400 answering it.
    pub(crate) fn stop(self, request_id: String) -> Stop {
        let (error, code) = match self {
            HeaderError::Duplicate(_) => ("duplicate_header", "DUPLICATE_HEADER"),
            HeaderError::BreakGlass { .. } => ("invalid_header", "INVALID_HEADER"),
        };
        Stop::invalid(request_id, error, code, self.message())
    }

    fn message(self) -> String {
        match self {
            HeaderError::Duplicate(header) => {
                format!("the request has more than one {header} header; send exactly one")
            }
            HeaderError::BreakGlass {
                header,
                why: ReasonEncodingError::NotUtf8,
            } => format!(
                "{header} is not UTF-8: send UTF-8, or X-Break-Glass-Reason* as RFC 8187 describes"
            ),
            HeaderError::BreakGlass { header, why } => {
                format!("{header} is not an RFC 8187 value: {why}")
            }
        }
    }
}

/// The one value of header `name`, if sent; an error if sent twice or more.
fn one<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    shown: &'static str,
) -> Result<Option<&'a HeaderValue>, HeaderError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(HeaderError::Duplicate(shown));
    }
    Ok(first)
}

/// The `Authorization` header's one value, if any. A value that is not
/// visible ASCII is passed on as unreadable (`"\0"`), so that it is refused
/// rather than mistaken for absent.
pub(crate) fn authorization(headers: &HeaderMap) -> Result<Option<&str>, HeaderError> {
    Ok(one(headers, &AUTHORIZATION, "Authorization")?.map(|v| v.to_str().unwrap_or("\u{0}")))
}

/// The break-glass reason, if any, as text: from `X-Break-Glass-Reason*`
/// (RFC 8187) when sent, else from `X-Break-Glass-Reason` (UTF-8 bytes).
/// Control characters are left in, for the policy to refuse.
pub(crate) fn break_glass_reason(headers: &HeaderMap) -> Result<Option<Cow<'_, str>>, HeaderError> {
    let plain = one(headers, &BREAK_GLASS, "X-Break-Glass-Reason")?;
    let extended = one(headers, &BREAK_GLASS_EXT, "X-Break-Glass-Reason*")?;
    if let Some(value) = extended {
        return icr_policy::reason_from_ext_value(value.as_bytes())
            .map(|text| Some(Cow::Owned(text)))
            .map_err(|why| HeaderError::BreakGlass {
                header: "X-Break-Glass-Reason*",
                why,
            });
    }
    plain
        .map(|value| {
            icr_policy::reason_from_bytes(value.as_bytes())
                .map(Cow::Borrowed)
                .map_err(|why| HeaderError::BreakGlass {
                    header: "X-Break-Glass-Reason",
                    why,
                })
        })
        .transpose()
}
