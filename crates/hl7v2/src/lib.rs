//! HL7 v2 messages and MLLP framing: tokenizer, escapes, writer
