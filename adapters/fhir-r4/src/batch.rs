//! A `batch` Bundle of searches, written and its `batch-response` read,
//! without I/O: the request is one `POST [base]` whose entries are GETs of
//! relative search URLs; the answer holds, in the same order, each
//! search's status and its searchset (or the OperationOutcome saying why
//! it failed), handed back as if each search had been a GET of its own.

use bytes::Bytes;
use icr_adapter_sdk::{SourceError, json_error};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

/// The `batch` Bundle asking every search of `urls` (relative to the
/// server's base: `Condition?patient.identifier=…`), in order.
pub fn request(urls: &[String]) -> Vec<u8> {
    let entry: Vec<serde_json::Value> = urls
        .iter()
        .map(|url| json!({"request": {"method": "GET", "url": url}}))
        .collect();
    json!({"resourceType": "Bundle", "type": "batch", "entry": entry})
        .to_string()
        .into_bytes()
}

/// One search's answer inside a `batch-response`, as a GET would have
/// given it: its HTTP status and its body (the searchset on success, the
/// OperationOutcome saying why on failure, empty when there is none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The status of `response.status` (`200 OK` → 200).
    pub status: u16,
    /// The entry's resource, or `response.outcome` on failure.
    pub body: Bytes,
}

impl Answer {
    /// The body on a 2xx status, else the error `on_status` makes of the
    /// status and body, as for a GET.
    pub fn into_result(
        self,
        on_status: impl FnOnce(u16, &[u8]) -> SourceError,
    ) -> Result<Bytes, SourceError> {
        if (200..300).contains(&self.status) {
            Ok(self.body)
        } else {
            Err(on_status(self.status, &self.body))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseBundleIn<'a> {
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(rename = "type", default)]
    type_: Option<String>,
    #[serde(borrow, default)]
    entry: Vec<EntryIn<'a>>,
}

#[derive(Deserialize)]
struct EntryIn<'a> {
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<ResponseIn<'a>>,
}

#[derive(Deserialize)]
struct ResponseIn<'a> {
    #[serde(default)]
    status: Option<String>,
    #[serde(borrow, default)]
    outcome: Option<&'a RawValue>,
}

/// Reads the `batch-response` to a batch of `asked` searches: one
/// [`Answer`] per search, in order, each body a slice of `body` (no copy).
/// The whole answer fails when it is not a `batch-response` Bundle of
/// exactly `asked` entries, since its entries could not be matched to the
/// searches; an entry without a readable status, or a success without a
/// resource, is that search's failure, never an empty answer.
pub fn read_response(
    body: &Bytes,
    asked: usize,
) -> Result<Vec<Result<Answer, SourceError>>, SourceError> {
    let bundle: ResponseBundleIn<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("batch response", &e)))?;
    if bundle.resource_type.as_deref() != Some("Bundle")
        || bundle.type_.as_deref() != Some("batch-response")
    {
        return Err(SourceError::Malformed(
            "the answer to the batch is not a batch-response Bundle".into(),
        ));
    }
    if bundle.entry.len() != asked {
        return Err(SourceError::Malformed(format!(
            "the batch response has {} entries for {asked} searches",
            bundle.entry.len()
        )));
    }
    let slice = |raw: &RawValue| body.slice_ref(raw.get().as_bytes());
    Ok(bundle
        .entry
        .iter()
        .map(|e| {
            let response = e.response.as_ref();
            let status = response
                .and_then(|r| r.status.as_deref())
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse::<u16>().ok())
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| {
                    SourceError::Malformed(
                        "the batch response gives no status for this search".into(),
                    )
                })?;
            let body = if (200..300).contains(&status) {
                let resource = e.resource.ok_or_else(|| {
                    SourceError::Malformed(
                        "the batch response gives no answer for this search".into(),
                    )
                })?;
                slice(resource)
            } else {
                response
                    .and_then(|r| r.outcome)
                    .or(e.resource)
                    .map(slice)
                    .unwrap_or_default()
            };
            Ok(Answer { status, body })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_get_per_search_in_order() {
        let body = request(&["Patient?identifier=a%7Cb".into(), "Flag?_count=5".into()]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"resourceType": "Bundle", "type": "batch", "entry": [
                {"request": {"method": "GET", "url": "Patient?identifier=a%7Cb"}},
                {"request": {"method": "GET", "url": "Flag?_count=5"}}
            ]})
        );
    }

    #[test]
    fn reads_each_entry_as_the_get_it_stands_for() {
        let body = Bytes::from(
            json!({"resourceType": "Bundle", "type": "batch-response", "entry": [
                {"resource": {"resourceType": "Bundle", "type": "searchset"}, "response": {"status": "200 OK"}},
                {"response": {"status": "500", "outcome": {"resourceType": "OperationOutcome"}}},
                {"resource": {"resourceType": "OperationOutcome"}, "response": {"status": "404 Not Found"}},
                {"response": {"status": "403"}},
                {"response": {"status": "OK"}},
                {"response": {"status": "200 OK"}}
            ]})
            .to_string(),
        );
        let answers = read_response(&body, 6).unwrap();
        let ok = |status: u16, body: &str| {
            Ok(Answer {
                status,
                body: Bytes::from(body.to_string()),
            })
        };
        assert_eq!(
            answers,
            vec![
                ok(200, r#"{"resourceType":"Bundle","type":"searchset"}"#),
                ok(500, r#"{"resourceType":"OperationOutcome"}"#),
                ok(404, r#"{"resourceType":"OperationOutcome"}"#),
                ok(403, ""),
                Err(SourceError::Malformed(
                    "the batch response gives no status for this search".into()
                )),
                Err(SourceError::Malformed(
                    "the batch response gives no answer for this search".into()
                )),
            ]
        );
        let failed =
            answers[1]
                .clone()
                .unwrap()
                .into_result(|status, body| SourceError::HttpStatus {
                    status,
                    what: String::from_utf8_lossy(body).into(),
                });
        assert_eq!(
            failed,
            Err(SourceError::HttpStatus {
                status: 500,
                what: r#"{"resourceType":"OperationOutcome"}"#.into()
            })
        );
    }

    #[test]
    fn an_answer_that_cannot_be_matched_to_the_searches_fails_whole() {
        let read = |v: serde_json::Value, n| read_response(&Bytes::from(v.to_string()), n);
        assert_eq!(
            read(
                json!({"resourceType": "Bundle", "type": "batch-response", "entry": [{}]}),
                2
            ),
            Err(SourceError::Malformed(
                "the batch response has 1 entries for 2 searches".into()
            ))
        );
        assert_eq!(
            read(json!({"resourceType": "Bundle", "type": "searchset"}), 0),
            Err(SourceError::Malformed(
                "the answer to the batch is not a batch-response Bundle".into()
            ))
        );
        assert_eq!(
            read_response(&Bytes::from_static(b"<html>"), 1),
            Err(SourceError::Malformed(
                "batch response: invalid JSON at line 1 column 1".into()
            ))
        );
    }
}
