use std::process::ExitCode;

// glibc's malloc was a tenth of the server's CPU time per request (many small, short-lived
// allocations across threads); mimalloc serves them from per-thread free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    twooter::cli::run().await
}
