//! The FHIR search client every FHIR-speaking adapter shares: one server
//! (its base URL, its origins, the HTTP client bound to its limits), a
//! search read page by page, `next` links followed only back to the
//! server's own origins ([`Origins`]), at most so many pages, every byte
//! counted. What a page means — its resources, the OperationOutcomes in it
//! or instead of it — is the adapter's: the client hands it each body.

use bytes::Bytes;
use tokio::time::Instant;
use url::Url;

use crate::http::HttpSource;
use crate::{BuildError, Origins, SourceError, SourceSpec};

/// The media type asked of a FHIR server.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR server as a source: where it is, where its links may lead, and
/// the client bound to its limits.
#[derive(Clone, Debug)]
pub struct FhirClient {
    http: HttpSource,
    base: Url,
    origins: Origins,
}

/// What the adapter makes of a page it has read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The page has no `next` link: the search is complete.
    Last,
    /// The page has one, but enough has been read.
    Enough,
    /// The page's `next` link, as given.
    Link(String),
}

/// Why a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It read its last page.
    Last,
    /// The adapter had read enough.
    Enough,
    /// It had more than this many pages (the limit).
    MorePages(u32),
    /// Its next page is on another server, which is never called.
    Elsewhere,
}

/// A page of a search that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageFailed {
    /// The page, from 1.
    pub page: u32,
    /// Why it failed.
    pub error: SourceError,
}

/// One search to run.
#[derive(Clone, Copy, Debug)]
pub struct Search<'a> {
    /// The request's name in errors (`Condition search`).
    pub what: &'a str,
    /// Pages read at most.
    pub max_pages: u32,
    /// When every page must have been read.
    pub deadline: Instant,
}

impl FhirClient {
    /// The client of the server a checked registration names: its base is
    /// the endpoint ([`SourceSpec::base_url`]), its origins the base's and
    /// `extra_origins`.
    pub fn new(spec: &SourceSpec) -> Result<Self, BuildError> {
        let base = spec.base_url();
        Ok(Self {
            http: HttpSource::new(spec)?,
            origins: Origins::new(&base, &spec.extra_origins),
            base,
        })
    }

    /// The HTTP client, for requests other than searches.
    pub fn http(&self) -> &HttpSource {
        &self.http
    }

    /// The server's base URL (its path ends in `/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The server's origins.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }

    /// `{base}{path}`: `DocumentReference`, `metadata`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{path}", url.path());
        url.set_path(&path);
        url
    }

    /// `GET url` for FHIR JSON, adding the body's size to `bytes`: the
    /// body when the answer is a success, else the error `on_status` makes
    /// of its status and body.
    pub async fn get(
        &self,
        url: Url,
        what: &str,
        deadline: Instant,
        bytes: &mut usize,
        on_status: impl FnOnce(u16, &[u8]) -> SourceError,
    ) -> Result<Bytes, SourceError> {
        let response = self.http.get(url, FHIR_JSON, deadline, what).await?;
        *bytes += response.body.len();
        if response.is_success() {
            Ok(response.body)
        } else {
            Err(on_status(response.status, &response.body))
        }
    }

    /// Reads `search` from `first`, page after page: each success is
    /// handed to `on_page` (with its number, from 1), which says how to go
    /// on; an error status becomes the error `on_status(page, status,
    /// body)` makes. A `next` link is followed only to the server's own
    /// origins, and at most `max_pages` pages are read. Every body's size
    /// is added to `bytes`.
    pub async fn pages(
        &self,
        search: Search<'_>,
        first: Url,
        bytes: &mut usize,
        on_status: impl Fn(u32, u16, &[u8]) -> SourceError,
        mut on_page: impl FnMut(u32, &[u8]) -> Result<Next, SourceError>,
    ) -> Result<End, PageFailed> {
        let mut url = first;
        for page in 1..=search.max_pages {
            let failed = |error| PageFailed { page, error };
            let body = self
                .get(url, search.what, search.deadline, bytes, |status, body| {
                    on_status(page, status, body)
                })
                .await
                .map_err(failed)?;
            let next = on_page(page, &body).map_err(failed)?;
            drop(body);
            let link = match next {
                Next::Last => return Ok(End::Last),
                Next::Enough => return Ok(End::Enough),
                Next::Link(link) => link,
            };
            if page == search.max_pages {
                return Ok(End::MorePages(search.max_pages));
            }
            match self.origins.resolve(&link) {
                Some(u) => url = u,
                None => return Ok(End::Elsewhere),
            }
        }
        Ok(End::Last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server whose pages' bodies are their `next` links: `/fhir/A`
    /// links to `?p=2`, which links to `?p=3`, which is the last;
    /// `/fhir/F` links to another server; `/fhir/E` fails.
    async fn serve() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("").to_string();
                    let (status, body) = match path.as_str() {
                        "/fhir/A" => ("200 OK", "A?p=2#frag"),
                        "/fhir/A?p=2" => ("200 OK", "/fhir/A?p=3"),
                        "/fhir/A?p=3" => ("200 OK", ""),
                        "/fhir/F" => ("200 OK", "https://elsewhere.example/fhir/A?p=2"),
                        _ => ("500 Internal Server Error", "down"),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://{addr}/fhir")
    }

    fn client(endpoint: &str) -> FhirClient {
        let spec: SourceSpec = toml::from_str(&format!(
            "id = \"t\"\norganisation = \"T\"\nods_code = \"RA1\"\nkind = \"x\"\nendpoint = \"{endpoint}\"\nsections = [\"allergies\"]\n"
        ))
        .unwrap();
        FhirClient::new(&spec).unwrap()
    }

    /// Reads `path` with at most `max_pages`, stopping (`Enough`) after
    /// `enough` pages: how it ended, the pages read, the bytes counted.
    async fn read(
        c: &FhirClient,
        path: &str,
        max_pages: u32,
        enough: u32,
    ) -> (Result<End, PageFailed>, Vec<u32>, usize) {
        let search = Search {
            what: "A search",
            max_pages,
            deadline: Instant::now() + Duration::from_secs(5),
        };
        let mut seen = Vec::new();
        let mut bytes = 0;
        let end = c
            .pages(
                search,
                c.url(path),
                &mut bytes,
                |page, status, _| SourceError::HttpStatus {
                    status,
                    what: format!("page {page}"),
                },
                |page, body| {
                    seen.push(page);
                    let link = String::from_utf8_lossy(body).to_string();
                    Ok(if link.is_empty() {
                        Next::Last
                    } else if page == enough {
                        Next::Enough
                    } else {
                        Next::Link(link)
                    })
                },
            )
            .await;
        (end, seen, bytes)
    }

    #[tokio::test]
    async fn follows_next_links_on_the_server_within_the_bounds() {
        let base = serve().await;
        let c = client(&base);
        assert_eq!(c.base().as_str(), format!("{base}/"));
        assert_eq!(
            read(&c, "A", 5, 0).await,
            (Ok(End::Last), vec![1, 2, 3], 21)
        );
        assert_eq!(
            read(&c, "A", 2, 0).await,
            (Ok(End::MorePages(2)), vec![1, 2], 21)
        );
        assert_eq!(read(&c, "A", 5, 2).await, (Ok(End::Enough), vec![1, 2], 21));
        assert_eq!(read(&c, "F", 5, 0).await, (Ok(End::Elsewhere), vec![1], 36));
        let (end, seen, bytes) = read(&c, "E", 5, 0).await;
        assert_eq!(
            end,
            Err(PageFailed {
                page: 1,
                error: SourceError::HttpStatus {
                    status: 500,
                    what: "page 1".into()
                }
            })
        );
        assert_eq!((seen, bytes), (vec![], 4));
    }
}
