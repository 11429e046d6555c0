//! The operations besides changing or verifying one password: add, remove,
//! suspend, unsuspend and set a given hash for one account (the password or
//! hash read as a change reads its password), and `--batch`.

use std::process::ExitCode;

use crate::args::{Operation, Request};
use crate::audit;
use crate::batch;
use crate::password::read_password;
use crate::report::{report_as, Failure, Success};

/// How an operation is named: in the audit log, as cPanel's function in the
/// JSON result, and before the address in the text result.
struct Names {
    logged: &'static str,
    func: &'static str,
    said: &'static str,
}

pub fn main(operation: Operation, request: Request) -> ExitCode {
    let names = match operation {
        Operation::Batch { encrypted } => return batch::main(encrypted, request),
        Operation::Add => Names {
            logged: "account added",
            func: "addpop",
            said: "account added:",
        },
        Operation::Remove => Names {
            logged: "account removed",
            func: "delpop",
            said: "account removed:",
        },
        Operation::Suspend => Names {
            logged: "login suspended",
            func: "suspend_login",
            said: "login suspended for",
        },
        Operation::Unsuspend => Names {
            logged: "login unsuspended",
            func: "unsuspend_login",
            said: "login unsuspended for",
        },
        Operation::SetHash => Names {
            logged: "hash set",
            func: "passwdpop",
            said: "hash set for",
        },
    };
    let change = audit::Change::of(names.logged, &request.domain, &request.email);
    let output = request.output;
    let outcome = run(operation, request, names.said);
    change.log(&outcome);
    report_as(outcome, output, names.func)
}

fn run(operation: Operation, request: Request, said: &'static str) -> Result<Success, Failure> {
    let Request {
        domain,
        email,
        password,
        config,
        ..
    } = request;
    let outcome = match operation {
        Operation::Add => config.add(&domain, &email, read_password(password, false)?),
        Operation::SetHash => config.set_hash(&domain, &email, read_password(password, false)?),
        Operation::Remove => config.remove(&domain, &email),
        Operation::Suspend => config.suspend(&domain, &email),
        Operation::Unsuspend => config.unsuspend(&domain, &email),
        Operation::Batch { .. } => unreachable!("handled by batch::main"),
    };
    outcome.map_err(Failure::Library)?;
    let local = email.split(|&byte| byte == b'@').next().unwrap_or_default();
    // An added entry is stored lower-cased.
    let local = match operation {
        Operation::Add => local.to_ascii_lowercase(),
        _ => local.to_vec(),
    };
    Ok(Success {
        verified: false,
        address: crate::address(&domain, &local),
        locked: false,
        action: Some(said),
    })
}
