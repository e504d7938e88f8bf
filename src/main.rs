//! The `solidaire` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    solidaire::cli::main()
}
