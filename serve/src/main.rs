//! `passwdpopd`: password changes for virtual mail accounts over cPanel's
//! UAPI and API 2 (HTTPS) and poppassd, over the passwdpop library's Rust API.
#![forbid(unsafe_code)]

mod account;
mod api2;
mod args;
mod auth;
mod check_time;
mod form;
mod homes;
mod http;
mod listen;
mod log;
mod pool;
mod poppassd;
mod server;
mod service;
mod settings;
mod throttle;
mod tls;
mod tokens;
mod uapi;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, TokenCommand};

/// Exit status for a usage error, as the `passwdpop` command uses.
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Some(Command::Token(command)) => token(command),
        None => match settings::resolve(cli.flags) {
            Ok(settings) => server::run(settings),
            Err(message) => usage_error(&message),
        },
    }
}

pub fn usage_error(message: &str) -> ExitCode {
    eprintln!("passwdpopd: {message}\nTry 'passwdpopd --help' for more information.");
    ExitCode::from(EXIT_USAGE)
}

fn token(command: TokenCommand) -> ExitCode {
    let result = match command {
        TokenCommand::Add { tokens, whm, name } => {
            let (kind, scheme) = match whm {
                true => (tokens::Kind::Whm, "whm"),
                false => (tokens::Kind::User, "cpanel"),
            };
            tokens::add(&tokens, &name, kind).map(|token| {
                println!("{}", token.as_str());
                eprintln!(
                    "passwdpopd: token '{name}' stored in {} (only its SHA-256); this is the only \
                     time it is shown. Send it as: Authorization: {scheme} {name}:TOKEN",
                    tokens.display()
                );
            })
        }
        TokenCommand::Remove { tokens, name } => tokens::remove(&tokens, &name),
        TokenCommand::List { tokens } => tokens::Tokens::load(&tokens).map(|loaded| {
            for (name, kind) in loaded.names() {
                match kind {
                    tokens::Kind::User => println!("{name}"),
                    tokens::Kind::Whm => println!("{name} whm"),
                }
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("passwdpopd: {message}");
            ExitCode::FAILURE
        }
    }
}
