//! Records the git commit the binary is built from, for the build-info metric and `--version`.

fn main() {
    // A build without the git history (a container build context) passes the commit in instead.
    println!("cargo:rerun-if-env-changed=TWOOTER_GIT_SHA");
    if let Ok(sha) = std::env::var("TWOOTER_GIT_SHA") {
        println!("cargo:rustc-env=TWOOTER_GIT_SHA={sha}");
        return;
    }
    let sha = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|sha| sha.trim().to_owned())
        .filter(|sha| !sha.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TWOOTER_GIT_SHA={sha}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
