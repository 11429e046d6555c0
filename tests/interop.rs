//! Interoperability with the real readers of our files: Dovecot, Exim and
//! independent hash verifiers. Run by `make interop` (part of `make test`).
