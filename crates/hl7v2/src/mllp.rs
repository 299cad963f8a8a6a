//! MLLP, the Minimal Lower Layer Protocol: each message on a TCP stream is
//! framed as `0x0B` (VT), the message, `0x1C` (FS), `0x0D` (CR).
//!
//! [`encode_frame`] frames one message; [`Deframer`] takes bytes as they
//! arrive, in any chunks, and gives back whole frames, refusing a frame
//! larger than its limit as soon as it grows past it (so a frame that never
//! ends costs at most the limit).

use std::collections::VecDeque;

/// Start of a frame (vertical tab).
pub const START: u8 = 0x0B;
/// End of a frame's content (file separator); a carriage return follows.
pub const END: u8 = 0x1C;
/// The carriage return after [`END`].
pub const CR: u8 = 0x0D;

/// What is wrong with an MLLP stream. Never carries content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MllpError {
    /// A frame grew larger than the limit.
    #[error("MLLP frame over the {limit} byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A byte other than whitespace arrived outside a frame.
    #[error("bytes outside an MLLP frame")]
    OutsideFrame,
    /// A start byte arrived inside a frame.
    #[error("an MLLP frame started inside another")]
    NestedStart,
    /// The stream ended inside a frame.
    #[error("the stream ended inside an MLLP frame, after {received} bytes of it")]
    Truncated {
        /// Bytes of the unfinished frame received.
        received: usize,
    },
    /// The message to frame contains a start or end byte.
    #[error("the message contains an MLLP start or end byte")]
    ControlInPayload,
}

/// Frames `message` for sending: `VT message FS CR`.
pub fn encode_frame(message: &[u8]) -> Result<Vec<u8>, MllpError> {
    if message.iter().any(|&b| b == START || b == END) {
        return Err(MllpError::ControlInPayload);
    }
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.push(END);
    out.push(CR);
    Ok(out)
}

/// Splits a byte stream into MLLP frames.
///
/// Whitespace between frames (the CR after FS, stray CR/LF) is skipped; any
/// other byte outside a frame, or a start byte inside one, is an error. An
/// end byte closes the frame whether or not the CR follows, so a sender
/// that leaves the CR out is read without waiting for it. After an error
/// the deframer refuses everything (the stream is out of step and the
/// connection should be dropped).
#[derive(Debug, Clone)]
pub struct Deframer {
    max_frame: usize,
    current: Option<Vec<u8>>,
    ready: VecDeque<Vec<u8>>,
    failed: Option<MllpError>,
}

impl Deframer {
    /// A deframer accepting frames of at most `max_frame` bytes of content.
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            current: None,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// Takes the next bytes read from the stream.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), MllpError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        while !data.is_empty() {
            match &mut self.current {
                None => {
                    let skip = data
                        .iter()
                        .position(|b| !b.is_ascii_whitespace())
                        .unwrap_or(data.len());
                    data = &data[skip..];
                    match data.first() {
                        None => {}
                        Some(&START) => {
                            self.current = Some(Vec::new());
                            data = &data[1..];
                        }
                        Some(_) => return self.fail(MllpError::OutsideFrame),
                    }
                }
                Some(frame) => {
                    let stop = data.iter().position(|&b| b == END || b == START);
                    let take = stop.unwrap_or(data.len());
                    if frame.len() + take > self.max_frame {
                        let limit = self.max_frame;
                        return self.fail(MllpError::TooLarge { limit });
                    }
                    frame.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    match data.first() {
                        Some(&END) => {
                            let done = std::mem::take(frame);
                            self.current = None;
                            self.ready.push_back(done);
                            data = &data[1..];
                        }
                        Some(_) => return self.fail(MllpError::NestedStart),
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: MllpError) -> Result<(), MllpError> {
        self.current = None;
        self.failed = Some(e.clone());
        Err(e)
    }

    /// The next complete frame's content, oldest first.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// True when no frame is partly received and none is waiting.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.ready.is_empty() && self.failed.is_none()
    }

    /// Bytes of the frame being received, if one is.
    pub fn pending(&self) -> Option<usize> {
        self.current.as_ref().map(Vec::len)
    }

    /// Call when the stream has ended: an error if it ended inside a frame.
    pub fn finish(&mut self) -> Result<(), MllpError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.current.take() {
            Some(partial) => self.fail(MllpError::Truncated {
                received: partial.len(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(d: &mut Deframer) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    #[test]
    fn frames_and_deframes() {
        let f = encode_frame(b"MSH|^~\\&|A\r").unwrap();
        assert_eq!(f, b"\x0bMSH|^~\\&|A\r\x1c\r");
        let mut d = Deframer::new(100);
        d.push(&f).unwrap();
        assert_eq!(frames(&mut d), [b"MSH|^~\\&|A\r".to_vec()]);
        assert!(d.is_idle());
        assert_eq!(encode_frame(b"a\x1cb"), Err(MllpError::ControlInPayload));
        assert_eq!(encode_frame(b"a\x0bb"), Err(MllpError::ControlInPayload));
    }

    #[test]
    fn two_frames_in_one_read_and_one_frame_over_many() {
        let mut d = Deframer::new(100);
        d.push(b"\x0bone\x1c\r\x0btwo\x1c\r").unwrap();
        assert_eq!(frames(&mut d), [b"one".to_vec(), b"two".to_vec()]);
        for b in b"\r\n\x0bthree parts\x1c\r" {
            d.push(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(frames(&mut d), [b"three parts".to_vec()]);
        // FS without CR still ends the frame
        d.push(b"\x0bfour\x1c").unwrap();
        assert_eq!(frames(&mut d), [b"four".to_vec()]);
        d.push(b"\x0b\x1c").unwrap();
        assert_eq!(frames(&mut d), [Vec::<u8>::new()]);
        d.finish().unwrap();
    }

    #[test]
    fn refuses_bytes_outside_and_nested_starts() {
        let mut d = Deframer::new(100);
        assert_eq!(d.push(b"junk\x0bx\x1c\r"), Err(MllpError::OutsideFrame));
        // stays failed
        assert_eq!(d.push(b"\x0bok\x1c\r"), Err(MllpError::OutsideFrame));
        assert_eq!(d.next_frame(), None);
        let mut d = Deframer::new(100);
        assert_eq!(d.push(b"\x0bab\x0bcd\x1c\r"), Err(MllpError::NestedStart));
        let mut d = Deframer::new(100);
        assert_eq!(d.push(b"\x0bab\x1c\rX"), Err(MllpError::OutsideFrame));
    }

    #[test]
    fn a_frame_that_never_ends_stops_at_the_limit() {
        let mut d = Deframer::new(10);
        d.push(b"\x0b0123456789").unwrap();
        assert_eq!(d.pending(), Some(10));
        assert_eq!(d.push(b"x"), Err(MllpError::TooLarge { limit: 10 }));
        let mut d = Deframer::new(10);
        d.push(b"\x0b0123456789\x1c\r").unwrap();
        assert_eq!(frames(&mut d).len(), 1);
    }

    #[test]
    fn a_stream_that_ends_inside_a_frame_is_truncated() {
        let mut d = Deframer::new(100);
        d.push(b"\x0bpart").unwrap();
        assert_eq!(d.finish(), Err(MllpError::Truncated { received: 4 }));
        let mut d = Deframer::new(100);
        d.push(b"\r\n").unwrap();
        assert_eq!(d.finish(), Ok(()));
    }
}
