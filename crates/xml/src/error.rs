//! Why a document was refused.

/// Why a document could not be read as XML. Messages carry byte positions
/// and kinds of problem only, never content from the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Nothing but whitespace, comments or a declaration.
    #[error("the document is empty")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("the document is not UTF-8 (at byte {at})")]
    NotUtf8 {
        /// Offset of the first bad byte.
        at: usize,
    },
    /// The document declares (or starts with the mark of) another encoding.
    #[error("only UTF-8 is accepted, and the document declares another encoding")]
    Encoding,
    /// A `<!DOCTYPE …>`: DTDs and the entities they define are refused.
    #[error("a DOCTYPE is not accepted (document type and entity declarations are refused)")]
    Doctype,
    /// Not well-formed XML.
    #[error("invalid XML at byte {at}: {what}")]
    Syntax {
        /// Offset where the problem was found.
        at: u64,
        /// What is wrong (a fixed description).
        what: &'static str,
    },
    /// An entity reference other than the five predefined XML entities.
    #[error(
        "an entity reference at byte {at} is not one of the five predefined XML entities, and is refused"
    )]
    UnknownEntity {
        /// Offset of the reference.
        at: u64,
    },
    /// A malformed character reference, or one to a character XML forbids.
    #[error("an invalid character reference at byte {at}")]
    BadCharRef {
        /// Offset of the reference.
        at: u64,
    },
    /// A character XML 1.0 does not allow.
    #[error("a character XML does not allow, at byte {at}")]
    IllegalChar {
        /// Offset of the text or tag holding it.
        at: u64,
    },
    /// A namespace prefix used without being declared.
    #[error("an undeclared namespace prefix at byte {at}")]
    UndeclaredPrefix {
        /// Offset of the tag.
        at: u64,
    },
    /// The root element is not the one the format requires.
    #[error("the root element is not a {expected}")]
    WrongRoot {
        /// What the format requires (fixed text, such as `CDA ClinicalDocument`).
        expected: &'static str,
    },
    /// Nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("elements are nested deeper than the limit of {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than [`Limits::max_elements`](crate::Limits::max_elements).
    #[error("the document has more than the limit of {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// More attributes on one element than
    /// [`Limits::max_attributes`](crate::Limits::max_attributes).
    #[error("an element has more than the limit of {limit} attributes")]
    TooManyAttributes {
        /// The limit.
        limit: usize,
    },
    /// A text value longer than
    /// [`Limits::max_text_bytes`](crate::Limits::max_text_bytes).
    #[error("a text value is longer than the limit of {limit} bytes")]
    TextTooLong {
        /// The limit.
        limit: usize,
    },
    /// The input ends inside the root element.
    #[error("the XML ends before the document is complete (truncated)")]
    Truncated,
    /// Elements or text after the root element is closed, or text before it.
    #[error("content outside the root element at byte {at}")]
    OutsideRoot {
        /// Offset of the content.
        at: u64,
    },
}
