//! The `solidaire` binary: everything is in the library.

// A webhook allocates and frees a few hundred small buffers (form, TwiML, the step's
// rows); the system allocator took 11 % of the service's CPU under load
// (`scripts/profile`), and mimalloc cut the CPU per webhook by 15 %
// (`scripts/compare-builds`). Resident memory stays flat from load to load now that
// recordings are served from memory and blocking work runs on a few long-lived threads
// (with short-lived threads freeing large buffers, it grew with every load). The
// default build, not the secure one: no guard pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    solidaire::cli::main()
}
