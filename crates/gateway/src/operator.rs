//! Who may run operator actions (`/v1/sources`, `/v1/audit/head`, the
//! cache purge, `/metrics` when protected): a caller holding one of
//! gateway.toml's `[access] operator_roles`. Not an access to a record: no
//! audit, no request id.

use http::Request;
use hyper::body::Incoming;

use crate::outcome::{Stop, Why};
use crate::respond::{Resp, stop_json};
use crate::{Gateway, headers};

/// The caller, if they hold an operator role (`[access] operator_roles`);
/// otherwise the 401 or 403 to answer.
pub(crate) fn operator(
    gw: &Gateway,
    req: &Request<Incoming>,
) -> Result<icr_auth::Identity, Box<Resp>> {
    // Operator actions are not accesses to a record: no audit, no request id.
    let authorization = headers::authorization(req.headers())
        .map_err(|e| Box::new(stop_json(&e.stop(String::new()))))?;
    let identity = gw
        .authenticate(authorization)
        .map_err(|e| Box::new(stop_json(&Stop::unauthenticated(String::new(), &e))))?;
    if !gw.is_operator(&identity.role) {
        let stop = Stop::new(
            String::new(),
            Why::Forbidden("NOT_OPERATOR"),
            "this is for the operator roles in gateway.toml [access] operator_roles".into(),
        );
        return Err(Box::new(stop_json(&stop)));
    }
    Ok(identity)
}
