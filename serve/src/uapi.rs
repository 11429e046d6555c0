//! cPanel UAPI: `/execute/Email/<function>`, answered with UAPI's result
//! document. `passwd_pop` serves both self-service (HTTP Basic with the full
//! address and the current password; only that account) and admins (a
//! token; any account).

use hyper::StatusCode;
use serde_json::json;

use crate::account::Account;
use crate::auth::Auth;
use crate::http::{Call, Reply};
use crate::log::Outcome;
use crate::service::{Denied, Operation};
use zeroize::Zeroizing;

pub const PROTOCOL: &str = "uapi";

/// `{"data":null,"errors":null,…,"status":1,…}`: UAPI's success document.
pub fn success_body() -> String {
    json!({
        "data": null,
        "errors": null,
        "messages": null,
        "metadata": {},
        "status": 1,
        "warnings": null,
    })
    .to_string()
}

/// The same document with `status` 0 and the reason in `errors[0]`, which
/// clients such as Roundcube show to the user.
pub fn failure_body(reason: &str) -> String {
    json!({
        "data": null,
        "errors": [reason],
        "messages": null,
        "metadata": {},
        "status": 0,
        "warnings": null,
    })
    .to_string()
}

pub fn failure(status: StatusCode, reason: &str, outcome: Outcome, log_status: &str) -> Reply {
    Reply::new(status, failure_body(reason), outcome, log_status)
}

/// The account functions cPanel's UAPI has besides `passwd_pop`; admin only.
const ADMIN_FUNCTIONS: [&str; 4] = ["add_pop", "delete_pop", "suspend_login", "unsuspend_login"];

pub async fn handle(call: Call<'_>, module: &str, function: &str) -> Reply {
    match (module, function) {
        ("Email", "passwd_pop") => passwd_pop(call).await,
        ("Email", function) if ADMIN_FUNCTIONS.contains(&function) => {
            admin_function(call, function).await
        }
        _ => failure(
            StatusCode::OK,
            &format!("unknown function {module}::{function}"),
            Outcome::BadRequest,
            "UnknownFunction",
        ),
    }
}

/// `add_pop` (email, password, domain), `delete_pop` (email, domain),
/// `suspend_login` and `unsuspend_login` (email): with a token only. A
/// mailbox password never opens them, whoever it belongs to.
async fn admin_function(call: Call<'_>, function: &str) -> Reply {
    let service = call.service;
    let owner = match &call.auth {
        Auth::Token { name, token, .. } => {
            // UAPI has no cpanel_jsonapi_user: a token acts for the user
            // of its name, whatever its kind.
            match service.admin(call.peer, name, token, call.started).await {
                Ok((name, _)) => name,
                Err(why) => return denied(&call, None, why),
            }
        }
        Auth::Basic { .. } | Auth::None | Auth::Malformed => {
            service.delay_failure(call.started).await;
            return Reply::access_denied(Outcome::Denied, "NotAdmin");
        }
    };
    let target = match target(&call, None) {
        Ok(target) => target,
        Err(reply) => return reply,
    };
    let operation = match function {
        "add_pop" => match new_password(&call, &target) {
            Ok(password) => Operation::Add(password),
            Err(reply) => return reply,
        },
        "delete_pop" => Operation::Remove,
        "suspend_login" => Operation::Suspend,
        _ => Operation::Unsuspend,
    };
    let token = owner.clone();
    apply(&call, Some(owner), &target, operation)
        .await
        .by_token(&token)
}

async fn passwd_pop(call: Call<'_>) -> Reply {
    let service = call.service;
    match &call.auth {
        Auth::Basic { user, password } => {
            let default_domain = service.settings().default_domain.as_deref();
            let Ok(me) = Account::from_parts(user, None, default_domain) else {
                service.reject(call.peer, call.started).await;
                return unauthorized(None, "InvalidUser");
            };
            if let Err(why) = service
                .login(call.peer, &me, password.clone(), call.started)
                .await
            {
                return denied(&call, Some(me.key()), why);
            }
            let target = match target(&call, Some(&me.domain)) {
                Ok(target) => target,
                Err(reply) => return reply.for_account(me.key()),
            };
            if !target.is(&me) {
                return failure(
                    StatusCode::OK,
                    &format!(
                        "you can change only the password of {me}, the account you logged in with"
                    ),
                    Outcome::Refused,
                    "OtherAccount",
                )
                .for_account(me.key());
            }
            change(&call, None, &target).await
        }
        Auth::Token { name, token, .. } => {
            let name = match service.admin(call.peer, name, token, call.started).await {
                Ok((name, _)) => name,
                Err(why) => return denied(&call, None, why),
            };
            let target = match target(&call, None) {
                Ok(target) => target,
                Err(reply) => return reply.by_token(&name),
            };
            change(&call, Some(name.clone()), &target)
                .await
                .by_token(&name)
        }
        Auth::None => {
            service.delay_failure(call.started).await;
            unauthorized(None, "NoCredentials")
        }
        Auth::Malformed => {
            service.reject(call.peer, call.started).await;
            unauthorized(None, "MalformedCredentials")
        }
    }
}

/// The account named by `email` (and `domain`, which defaults to the logged-in
/// account's domain).
fn target(call: &Call<'_>, default_domain: Option<&str>) -> Result<Account, Reply> {
    let bad = |why: String| {
        failure(
            StatusCode::BAD_REQUEST,
            &why,
            Outcome::BadRequest,
            "BadRequest",
        )
    };
    let email = call.form.text("email").map_err(bad)?;
    let domain = call.form.text("domain").map_err(bad)?;
    let Some(email) = email else {
        return Err(bad("missing field 'email'".into()));
    };
    Account::from_parts(email, domain, default_domain).map_err(bad)
}

async fn change(call: &Call<'_>, owner: Option<String>, target: &Account) -> Reply {
    match new_password(call, target) {
        Ok(password) => apply(call, owner, target, Operation::Change(password)).await,
        Err(reply) => reply,
    }
}

fn new_password(call: &Call<'_>, target: &Account) -> Result<Zeroizing<Vec<u8>>, Reply> {
    call.form.secret("password").ok_or_else(|| {
        failure(
            StatusCode::BAD_REQUEST,
            "missing field 'password' (the new password)",
            Outcome::BadRequest,
            "BadRequest",
        )
        .for_account(target.key())
    })
}

async fn apply(
    call: &Call<'_>,
    owner: Option<String>,
    target: &Account,
    operation: Operation,
) -> Reply {
    let reply = match call.service.admin_operation(owner, target, operation).await {
        Ok(()) => Reply::new(StatusCode::OK, success_body(), Outcome::Changed, "Ok"),
        Err(failure) => Reply::new(
            StatusCode::OK,
            failure_body(&failure.message),
            Outcome::Failed,
            failure.status,
        ),
    };
    reply.for_account(target.key())
}

fn denied(call: &Call<'_>, account: Option<String>, why: Denied) -> Reply {
    let reply = match (&call.auth, why) {
        (_, Denied::Throttled) => failure(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed attempts; try again later",
            Outcome::Throttled,
            "Throttled",
        ),
        (Auth::Token { .. }, Denied::BadCredentials(status)) => {
            Reply::access_denied(Outcome::Denied, status)
        }
        (_, Denied::BadCredentials(status)) => unauthorized(None, status),
    };
    match account {
        Some(account) => reply.for_account(account),
        None => reply,
    }
}

fn unauthorized(account: Option<String>, status: &str) -> Reply {
    let mut reply = failure(
        StatusCode::UNAUTHORIZED,
        "authentication failed: log in with your full email address and current password",
        Outcome::Denied,
        status,
    );
    reply.www_authenticate = true;
    match account {
        Some(account) => reply.for_account(account),
        None => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_have_exactly_the_keys_clients_read() {
        assert_eq!(
            success_body(),
            r#"{"data":null,"errors":null,"messages":null,"metadata":{},"status":1,"warnings":null}"#
        );
        assert_eq!(
            failure_body("no account 'x' in \"y\""),
            r#"{"data":null,"errors":["no account 'x' in \"y\""],"messages":null,"metadata":{},"status":0,"warnings":null}"#
        );
    }
}
