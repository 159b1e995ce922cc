//! `social-live`: the one binary of Social Live.
//!
//! Thin glue over the library crates, the way ripgrep's binary glues its crates: parse the command line,
//! set up logging, call one library function, print what the user asked for. Every failure becomes one
//! line on stderr and a non-zero exit code.

mod admin;
mod cli;
mod commands;
mod database;
mod scheduler;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc. Under load the service allocates from many threads at
/// once (rankings and argon2id hashes on the blocking pool, 19 MiB each): glibc's per-thread
/// arenas spent about a quarter of the CPU in `malloc`/`free` in a profile of the feed
/// overload and kept hundreds of MiB of freed hashes resident after a login burst.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_tracing(&cli.global);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the whole context chain, outermost first.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
