//! Records the git commit the binary is built from, for the build-info metric and `--version`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn main() {
    // A build without the git history (a container build context) passes the commit in instead.
    println!("cargo:rerun-if-env-changed=TWOOTER_GIT_SHA");
    if let Ok(sha) = std::env::var("TWOOTER_GIT_SHA") {
        println!("cargo:rustc-env=TWOOTER_GIT_SHA={sha}");
        return;
    }
    let sha = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TWOOTER_GIT_SHA={sha}");
    // Asked of git rather than assumed under .git/: in a worktree .git is a file, and a path
    // that does not exist would make cargo run this script, and rebuild the crate, every time.
    for file in ["HEAD", "refs/heads", "packed-refs"] {
        let path = git(&["rev-parse", "--git-path", file]);
        if let Some(path) = path.filter(|path| std::path::Path::new(path).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
