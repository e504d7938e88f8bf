//! The `solidaire` binary: everything is in the library.

// A webhook allocates and frees a few hundred small buffers (form, TwiML, the step's
// rows); mimalloc does that in 8 % fewer instructions than the system allocator and cut
// the service's CPU per webhook by 8–13 % (`scripts/count-instructions`,
// `scripts/compare-builds`). The default build, not the secure one: no guard pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    solidaire::cli::main()
}
