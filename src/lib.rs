//! Twooter: a microblogging API. Post short messages under a tag, read the newest, count them per
//! year and tag; on embedded SQLite or MySQL-compatible databases, from stateless instances.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod lease;
pub mod live;
pub mod metrics;
pub mod posting;
pub mod ratelimit;
pub mod recount;
pub mod seed;
pub mod store;
pub mod telemetry;

/// The git commit this binary was built from.
pub const GIT_SHA: &str = env!("TWOOTER_GIT_SHA");

#[cfg(test)]
mod layering {
    //! The crate's floors (docs/ARCHITECTURE.md): each module may use only the ones listed for it,
    //! so that, say, the store never learns of HTTP or metrics.

    use std::path::Path;

    /// Each top-level module and the crate modules it may use.
    const MAY_USE: &[(&str, &[&str])] = &[
        ("domain", &[]),
        ("store", &["domain"]),
        ("ratelimit", &[]),
        ("config", &["domain", "store", "ratelimit"]),
        ("seed", &["domain", "store"]),
        ("import", &["domain", "store"]),
        ("recount", &["domain", "store"]),
        ("metrics", &["domain", "store"]),
        ("telemetry", &["config"]),
        ("live", &["domain", "store"]),
        ("lease", &["domain", "store", "metrics", "telemetry"]),
        ("posting", &["domain", "store", "metrics"]),
        (
            "http",
            &[
                "domain",
                "live",
                "store",
                "metrics",
                "posting",
                "ratelimit",
                "telemetry",
            ],
        ),
        (
            "app",
            &[
                "config",
                "domain",
                "http",
                "lease",
                "live",
                "metrics",
                "posting",
                "ratelimit",
                "seed",
                "store",
                "telemetry",
            ],
        ),
        (
            "cli",
            &[
                "app",
                "config",
                "domain",
                "http",
                "import",
                "recount",
                "seed",
                "store",
                "telemetry",
            ],
        ),
    ];

    fn sources(path: &Path, out: &mut Vec<std::path::PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                sources(&entry.unwrap().path(), out);
            }
        } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path.to_owned());
        }
    }

    #[test]
    fn each_module_uses_only_the_floors_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut violations = Vec::new();
        for (module, allowed) in MAY_USE {
            let mut files = Vec::new();
            sources(&src.join(module), &mut files);
            sources(&src.join(format!("{module}.rs")), &mut files);
            assert!(!files.is_empty(), "no source for module {module}");
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                for (number, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    for used in code.split("crate::").skip(1) {
                        let name: String = used
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        // Items of the crate root (GIT_SHA) belong to every floor.
                        let root_item = name.starts_with(|c: char| c.is_ascii_uppercase());
                        if name != *module && !root_item && !allowed.contains(&name.as_str()) {
                            violations.push(format!(
                                "{}:{}: {module} uses crate::{name}",
                                file.strip_prefix(&src).unwrap().display(),
                                number + 1
                            ));
                        }
                    }
                }
            }
        }
        assert!(violations.is_empty(), "{}", violations.join("\n"));
    }
}
