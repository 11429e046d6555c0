//! cPanel API 2 through `/json-api/cpanel`: `cpanel_jsonapi_apiversion=2`,
//! `cpanel_jsonapi_module`, `cpanel_jsonapi_func` and the function's fields,
//! answered with a `cpanelresult` document: `passwdpop`, `addpop` and
//! `delpop` of module `Email`. Admin tokens only.

use hyper::StatusCode;
use serde_json::json;

use crate::account::Account;
use crate::auth::{Auth, Scheme};
use crate::http::{Call, Reply};
use crate::log::Outcome;
use crate::service::{Denied, Operation};
use crate::settings::Roots;
use crate::tokens::Kind;

pub const PROTOCOL: &str = "api2";

/// cPanel's own answer to a missing or wrong token (HTTP 403), byte for byte:
/// `apiversion` and `result` are strings here, unlike in a result.
pub const ACCESS_DENIED: &str = r#"{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}"#;

/// The `cpanelresult` of a call: `result` 1, or 0 with the reason.
pub fn result_body(module: &str, func: &str, outcome: Result<(), &str>) -> String {
    let (result, reason) = match outcome {
        Ok(()) => (1, ""),
        Err(reason) => (0, reason),
    };
    json!({
        "cpanelresult": {
            "apiversion": 2,
            "func": func,
            "module": module,
            "data": [{ "reason": reason, "result": result }],
            "event": { "result": result },
        }
    })
    .to_string()
}

pub async fn handle(call: Call<'_>) -> Reply {
    let module = call
        .form
        .text("cpanel_jsonapi_module")
        .ok()
        .flatten()
        .unwrap_or("");
    let func = call
        .form
        .text("cpanel_jsonapi_func")
        .ok()
        .flatten()
        .unwrap_or("");
    let (module, func) = (module.to_owned(), func.to_owned());
    let refuse = |status: StatusCode, reason: &str, outcome: Outcome, log: &str| {
        Reply::new(
            status,
            result_body(&module, &func, Err(reason)),
            outcome,
            log,
        )
    };

    let (scheme, kind, owner) = match &call.auth {
        Auth::Token {
            scheme,
            name,
            token,
        } => {
            match call
                .service
                .admin(call.peer, name, token, call.started)
                .await
            {
                Ok((name, kind)) => (*scheme, kind, name),
                Err(Denied::Throttled) => {
                    return refuse(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many failed attempts; try again later",
                        Outcome::Throttled,
                        "Throttled",
                    )
                }
                Err(Denied::BadCredentials(status)) => {
                    return Reply::access_denied(Outcome::Denied, status)
                }
            }
        }
        // API 2 is for admins: a mailbox password opens nothing here.
        Auth::None | Auth::Basic { .. } | Auth::Malformed => {
            call.service.reject(call.peer, call.started).await;
            return Reply::access_denied(Outcome::Denied, "NoToken");
        }
    };

    let bad = |why: String| {
        refuse(
            StatusCode::BAD_REQUEST,
            &why,
            Outcome::BadRequest,
            "BadRequest",
        )
    };
    match call.form.text("cpanel_jsonapi_apiversion") {
        Ok(Some("2")) => {}
        Ok(other) => {
            return refuse(
                StatusCode::OK,
                &format!(
                    "cpanel_jsonapi_apiversion must be 2, not '{}'",
                    other.unwrap_or("").escape_default()
                ),
                Outcome::BadRequest,
                "UnknownApiVersion",
            )
        }
        Err(why) => return bad(why),
    }
    if module != "Email" || !["passwdpop", "addpop", "delpop"].contains(&func.as_str()) {
        return refuse(
            StatusCode::OK,
            &format!(
                "unknown function '{}' in module '{}'",
                func.escape_default(),
                module.escape_default()
            ),
            Outcome::BadRequest,
            "UnknownFunction",
        );
    }

    // cPanel's account user selects whose files, under --user-homes (and is
    // ignored otherwise: there is one root for everyone).
    let user_homes = matches!(call.service.settings().roots, Roots::UserHomes);
    let token_name = owner.clone();
    let owner = match call.form.text("cpanel_jsonapi_user") {
        Ok(_) if !user_homes => owner,
        Ok(requested) => match acting_user(scheme, kind, &owner, requested) {
            Ok(user) => user,
            Err(why) => {
                return refuse(StatusCode::FORBIDDEN, &why, Outcome::Refused, "OtherUser")
                    .by_token(&owner)
            }
        },
        Err(why) => return bad(why).by_token(&owner),
    };
    let account = match (call.form.text("email"), call.form.text("domain")) {
        (Ok(Some(email)), Ok(domain)) => match Account::from_parts(email, domain, None) {
            Ok(account) => account,
            Err(why) => return bad(why),
        },
        (Ok(None), _) => return bad("missing field 'email'".into()),
        (Err(why), _) | (_, Err(why)) => return bad(why),
    };
    let operation = match func.as_str() {
        "delpop" => Operation::Remove,
        _ => match call.form.secret("password") {
            Some(password) if func == "addpop" => Operation::Add(password),
            Some(password) => Operation::Change(password),
            None => {
                return bad("missing field 'password' (the new password)".into())
                    .for_account(account.key())
            }
        },
    };
    let reply = match call
        .service
        .admin_operation(Some(owner), &account, operation)
        .await
    {
        Ok(()) => Reply::new(
            StatusCode::OK,
            result_body(&module, &func, Ok(())),
            Outcome::Changed,
            "Ok",
        ),
        Err(failure) => refuse(
            StatusCode::OK,
            &failure.message,
            Outcome::Failed,
            failure.status,
        ),
    };
    reply.for_account(account.key()).by_token(&token_name)
}

/// Whose files a token may reach: a `whm` token any user's it names, a
/// `cpanel` token only its own user's, as in cPanel, where an account's
/// token never reaches another account.
/// The cPanel user whose files a request under `--user-homes` acts on:
/// another user than the token's own only for a token stored as a server
/// admin's (`token add --whm`) and sent as `whm NAME:TOKEN`. The kind is
/// the stored token's: the word in the header is the client's to choose, so
/// it alone would let any user's token act for everyone.
fn acting_user(
    scheme: Scheme,
    kind: Kind,
    token: &str,
    requested: Option<&str>,
) -> Result<String, String> {
    match requested {
        None | Some("") => Ok(token.to_owned()),
        Some(user) if user == token => Ok(user.to_owned()),
        Some(user) if scheme == Scheme::Whm && kind == Kind::Whm => Ok(user.to_owned()),
        Some(user) if kind == Kind::Whm => Err(format!(
            "a cpanel token acts for its own user '{}' only, not for '{}'; send the token as whm",
            token.escape_default(),
            user.escape_default()
        )),
        Some(user) => Err(format!(
            "the token '{}' acts for its own user only, not for '{}': it is not a server \
             admin's token (passwdpopd token add --whm)",
            token.escape_default(),
            user.escape_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_match_the_reference_document() {
        assert_eq!(
            result_body("Email", "passwdpop", Ok(())),
            r#"{"cpanelresult":{"apiversion":2,"data":[{"reason":"","result":1}],"event":{"result":1},"func":"passwdpop","module":"Email"}}"#
        );
        assert_eq!(
            result_body("Email", "passwdpop", Err("no account 'x'")),
            r#"{"cpanelresult":{"apiversion":2,"data":[{"reason":"no account 'x'","result":0}],"event":{"result":0},"func":"passwdpop","module":"Email"}}"#
        );
        let denied: serde_json::Value = serde_json::from_str(ACCESS_DENIED).unwrap();
        assert_eq!(denied["cpanelresult"]["data"]["result"], "0");
    }

    #[test]
    fn only_whm_tokens_sent_as_whm_choose_another_users_files() {
        use Kind::{User, Whm};
        type Case<'a> = (
            Scheme,
            Kind,
            &'a str,
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let cases: &[Case] = &[
            (Scheme::Cpanel, User, "alice", None, Ok("alice")),
            (Scheme::Cpanel, User, "alice", Some(""), Ok("alice")),
            (Scheme::Cpanel, User, "alice", Some("alice"), Ok("alice")),
            (Scheme::Whm, User, "alice", Some("alice"), Ok("alice")),
            (
                Scheme::Cpanel,
                User,
                "alice",
                Some("root"),
                Err("own user only, not for 'root'"),
            ),
            (
                Scheme::Cpanel,
                User,
                "alice",
                Some("bob"),
                Err("not for 'bob'"),
            ),
            // A user's token sent as whm is still that user's.
            (
                Scheme::Whm,
                User,
                "alice",
                Some("bob"),
                Err("token add --whm"),
            ),
            (
                Scheme::Cpanel,
                Whm,
                "ops",
                Some("bob"),
                Err("send the token as whm"),
            ),
            (Scheme::Whm, Whm, "ops", Some("bob"), Ok("bob")),
            (Scheme::Whm, Whm, "ops", None, Ok("ops")),
        ];
        for (scheme, kind, token, requested, expected) in cases {
            let got = acting_user(*scheme, *kind, token, *requested);
            match (expected, got) {
                (Ok(user), Ok(got)) => assert_eq!(got, *user),
                (Err(part), Err(why)) => assert!(why.contains(part), "{why}"),
                (expected, got) => {
                    panic!("{scheme:?} {kind:?} {requested:?}: {expected:?} != {got:?}")
                }
            }
        }
    }
}
