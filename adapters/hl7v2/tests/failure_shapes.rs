//! Every way an HL7 v2 lab can say "I failed" in its answer to a QBP^Q11
//! — MSA-1 AE/AR/CE/CR, QAK-2 AE/AR, ERR segments of severity E, a
//! missing QAK — and the outcome it must have: a failure quoting the
//! lab's own words (MSA-3, ERR-8, ERR-7, ERR-5's text). Only QAK-2 `NF`
//! with nothing else said is `not_found`. One loopback MLLP lab per row.

mod common;

use std::time::Duration;

use common::*;
use icr_adapter_hl7v2::build;
use icr_adapter_sdk::{FetchRequest, SourceError};
use icr_hl7v2::{Limits, Message};
use icr_model::*;
use icr_testkit::Mismatches;
use icr_testkit::serve;
use tokio::time::Instant;

/// How a row's lab answers: MSH-9, MSA-1, MSA-3, QAK-2 (no QAK when
/// `None`), and the segments after QPD.
struct Shape {
    msh9: &'static str,
    msa1: &'static str,
    msa3: &'static str,
    qak2: Option<&'static str>,
    body: Vec<String>,
}

impl Shape {
    fn rsp(msa1: &'static str, msa3: &'static str, qak2: &'static str, body: Vec<String>) -> Self {
        Shape {
            msh9: "RSP^K11^RSP_K11",
            msa1,
            msa3,
            qak2: Some(qak2),
            body,
        }
    }

    /// The answer to `query` (its control id and query tag echoed).
    fn answer(&self, query: &[u8]) -> Vec<u8> {
        let m = Message::parse(query, &Limits::default()).unwrap();
        let control_id = m.msh().field(10).text().into_owned();
        let tag = m.segment("QPD").unwrap().field(2).text().into_owned();
        let mut lines = vec![
            format!(
                "MSH|^~\\&|WINPATH|RD1|ICR|ICR|20240501101500+0100||{}|A1|P|2.5.1",
                self.msh9
            ),
            seg("MSA", &[(1, self.msa1), (2, &control_id), (3, self.msa3)]),
        ];
        if let Some(qak2) = self.qak2 {
            lines.push(seg("QAK", &[(1, &tag), (2, qak2)]));
            lines.push(seg(
                "QPD",
                &[(1, "ICR_RESULTS^Results for patient^HL70471"), (2, &tag)],
            ));
        }
        lines.extend(self.body.iter().cloned());
        let mut text = lines.join("\r");
        text.push('\r');
        text.into_bytes()
    }
}

/// A v2.5 ERR: HL7 code (table 0357), severity, application error code
/// and text, diagnostic information, user message.
fn err(code: &str, severity: &str, app: &str, diagnostic: &str, user: &str) -> String {
    seg(
        "ERR",
        &[
            (3, code),
            (4, severity),
            (5, app),
            (7, diagnostic),
            (8, user),
        ],
    )
}

/// A result for the person asked about.
fn results() -> Vec<String> {
    panel_for("9990000018")
}

/// What a row expects.
#[derive(Debug)]
enum Expect {
    Fails(SourceError),
    /// Answered: these many items, this issue among the issues.
    Answers {
        items: usize,
        issue: SourceIssue,
    },
}

impl Expect {
    fn matches(&self, got: &Result<SourceRecord, SourceError>) -> bool {
        match (got, self) {
            (Err(e), Expect::Fails(x)) => e == x,
            (Ok(r), Expect::Answers { items, issue }) => {
                r.items.len() == *items && r.issues.contains(issue)
            }
            _ => false,
        }
    }
}

fn refused(message: &str) -> Expect {
    Expect::Fails(SourceError::Refused(message.into()))
}

fn malformed(message: &str) -> Expect {
    Expect::Fails(SourceError::Malformed(message.into()))
}

#[tokio::test]
async fn every_hl7v2_failure_shape_is_a_failure_with_its_words_and_only_nf_is_not_found() {
    let internal = || {
        err(
            "207^Application internal error^HL70357",
            "E",
            "DB01^Results database offline",
            "connection to results store lost",
            "",
        )
    };
    let rows: Vec<(&str, Shape, Expect)> = vec![
        (
            "MSA-1 AE with an ERR",
            Shape::rsp("AE", "", "AE", vec![internal()]),
            refused(
                "the source answered with an application error (MSA-1 AE): ERR code 207 (application internal error): the source said \"connection to results store lost; Results database offline\"",
            ),
        ),
        (
            "MSA-1 AR with MSA-3 only",
            Shape::rsp("AR", "Unsupported query name", "AR", vec![]),
            refused(
                "the source rejected the query (MSA-1 AR): the source said \"Unsupported query name\"",
            ),
        ),
        (
            "MSA-1 CE with an ERR user message",
            Shape::rsp(
                "CE",
                "",
                "AE",
                vec![err("207", "E", "", "", "Please call the lab on 01632 960000")],
            ),
            refused(
                "the source answered with an application error (MSA-1 CE): ERR code 207 (application internal error): the source said \"Please call the lab on 01632 960000\"",
            ),
        ),
        (
            "MSA-1 CR",
            Shape::rsp("CR", "Message rejected", "AR", vec![]),
            refused(
                "the source rejected the query (MSA-1 CR): the source said \"Message rejected\"",
            ),
        ),
        (
            "MSA-1 AA, QAK-2 AE",
            Shape::rsp("AA", "Query engine\\.br\\unavailable", "AE", vec![]),
            refused(
                "the source reported an application error for the query (QAK-2 AE): the source said \"Query engine unavailable\"",
            ),
        ),
        (
            "MSA-1 AA, QAK-2 AR",
            Shape::rsp("AA", "", "AR", vec![]),
            refused("the source rejected the query (QAK-2 AR)"),
        ),
        (
            "MSA-1 AA, QAK-2 NF: the lab has nothing for this person",
            Shape::rsp("AA", "", "NF", vec![]),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "QAK-2 NF with results: a contradiction, not 'no record'",
            Shape::rsp("AA", "", "NF", results()),
            malformed("the answer says nothing was found (QAK-2 NF) yet carries results"),
        ),
        (
            "QAK-2 NF with an ERR of severity E",
            Shape::rsp("AA", "", "NF", vec![internal()]),
            refused(
                "the source reported an error (ERR severity E): ERR code 207 (application internal error): the source said \"connection to results store lost; Results database offline\"",
            ),
        ),
        (
            "MSA-1 AA, QAK-2 OK, results and an ERR of severity E",
            Shape::rsp("AA", "", "OK", {
                let mut b = results();
                b.push(internal());
                b
            }),
            refused(
                "the source reported an error (ERR severity E): ERR code 207 (application internal error): the source said \"connection to results store lost; Results database offline\"",
            ),
        ),
        (
            "an ACK with MSA-1 AE instead of an RSP",
            Shape {
                msh9: "ACK^Q11^ACK",
                msa1: "AE",
                msa3: "Query processing failed",
                qak2: None,
                body: vec![],
            },
            refused(
                "the source answered with an application error (MSA-1 AE): the source said \"Query processing failed\"",
            ),
        ),
        (
            "an ACK with MSA-1 AA instead of an RSP",
            Shape {
                msh9: "ACK^Q11^ACK",
                msa1: "AA",
                msa3: "",
                qak2: None,
                body: vec![],
            },
            malformed("expected an RSP^K11 answer, got ACK^Q11"),
        ),
        (
            "an RSP with no QAK",
            Shape {
                qak2: None,
                ..Shape::rsp("AA", "", "OK", results())
            },
            malformed("the answer has no QAK segment"),
        ),
        (
            "an RSP with an empty QAK-2",
            Shape::rsp("AA", "", "", vec![]),
            malformed("the answer has no query response status (QAK-2)"),
        ),
        (
            "an unknown MSA-1",
            Shape::rsp("XX", "", "OK", vec![]),
            malformed("MSA-1 is not an acknowledgment code"),
        ),
        (
            "results with an ERR warning: kept, with a note",
            Shape::rsp("AA", "", "OK", {
                let mut b = results();
                b.push(err("0", "W", "", "", "Reference ranges under review"));
                b
            }),
            Expect::Answers {
                items: 2,
                issue: SourceIssue {
                    kind: IssueKind::Note,
                    section: None,
                    message: "the source sent 1 warning(s) with its answer: ERR code 0 (message accepted): the source said \"Reference ranges under review\"".into(),
                },
            },
        ),
    ];
    let mut wrong = Mismatches::default();
    for (name, shape, expected) in rows {
        let addr = serve::mllp(move |query| shape.answer(query)).await;
        let lab = build(&spec(&format!("mllp://{addr}"), 3000, "")).unwrap();
        let got = lab
            .fetch(&FetchRequest::system(
                nhs(),
                [Section::Results].into_iter().collect(),
                Instant::now() + Duration::from_secs(5),
            ))
            .await;
        let right = expected.matches(&got);
        wrong.check(
            name,
            right,
            got.map(|r| (r.items.len(), r.issues)),
            expected,
        );
    }
    wrong.assert_none();
}
