use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    twooter::cli::run().await
}
