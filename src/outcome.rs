//! What a change or a verification found in the file, for callers that tell
//! a person about it (the command does): the entry's name as stored, and
//! whether it is locked.

use crate::error::Error;
use crate::hash_field;
use crate::shadow::Stored;

/// The entry that [`Config::change_entry`](crate::Config::change_entry) or
/// [`Config::verify_entry`](crate::Config::verify_entry) acted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    name: String,
    locked: bool,
    mismatch: Option<Error>,
}

impl Outcome {
    pub(crate) fn new(stored: &Stored, mismatch: Option<Error>) -> Outcome {
        Outcome {
            // Matched against a validated (ASCII) name, so it is ASCII too.
            name: String::from_utf8_lossy(&stored.name).into_owned(),
            locked: hash_field::is_locked(&stored.hash),
            mismatch,
        }
    }

    /// The user name as the file has it. Names match ignoring ASCII case, so
    /// it may differ from the one asked for (`Info` for `info`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the entry is locked (a `!` in front of its hash, or right
    /// after a `{SCHEME}` that is not a plaintext one). A change keeps the lock: the new password
    /// works only once the entry is unlocked.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// After a verification: why the password does not match
    /// ([`Status::PasswordMismatch`](crate::Status::PasswordMismatch)), or
    /// `None` on a match. Always `None` after a change.
    pub fn mismatch(&self) -> Option<&Error> {
        self.mismatch.as_ref()
    }
}
