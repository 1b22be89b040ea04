//! `axc`: the axonal compiler on the command line.
//!
//! `axc check FILE…` reports every mistake, rustc-style, and exits 1 if there is one;
//! `axc emit FILE` prints the generated Rust.

use std::io::IsTerminal;
use std::process::ExitCode;

const USAGE: &str = "\
usage: axc check FILE...   report every mistake in .nn files (exit 1 if any)
       axc emit FILE       print the Rust code generated for a .nn file

example: axc check models/mnist.nn";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, files)) if cmd == "check" && !files.is_empty() => check(files),
        Some((cmd, [file])) if cmd == "emit" => emit(file),
        Some((cmd, _)) if cmd == "-h" || cmd == "--help" || cmd == "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn read(file: &str) -> Option<String> {
    match std::fs::read_to_string(file) {
        Ok(source) => Some(source),
        Err(e) => {
            eprintln!("error: cannot read `{file}`: {e}");
            None
        }
    }
}

fn check(files: &[String]) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let mut ok = true;
    for file in files {
        let Some(source) = read(file) else {
            ok = false;
            continue;
        };
        if let Err(diags) = axonal_dsl::check_source(&source) {
            eprint!(
                "{}",
                axonal_dsl::diagnostic::render_all(&diags, file, &source, color)
            );
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn emit(file: &str) -> ExitCode {
    let Some(source) = read(file) else {
        return ExitCode::FAILURE;
    };
    match axonal_dsl::emit(&source) {
        Ok(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        Err(diags) => {
            let color = std::io::stderr().is_terminal();
            eprint!(
                "{}",
                axonal_dsl::diagnostic::render_all(&diags, file, &source, color)
            );
            ExitCode::FAILURE
        }
    }
}
