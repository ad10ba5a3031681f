//! `.github/workflows/`: pull requests run the check command with CI=true beside MariaDB and
//! Redis; main builds the image tagged with the commit, migrates, then rolls out, in that order.
//! Their lint (actionlint, zizmor) is the check command's `lint` stage.

use serde_yaml_ng::Value as Yaml;

use crate::files;

const CHECK: &str = ".github/workflows/check.yml";
const DEPLOY: &str = ".github/workflows/deploy.yml";

/// Every `run:` script of a workflow, job by job, in order.
fn scripts(workflow: &Yaml) -> Vec<String> {
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    jobs.values()
        .flat_map(|job| job["steps"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|step| step["run"].as_str().map(str::to_owned))
        .collect()
}

/// The position of the first script containing `needle`, or a failure naming `what`.
fn position(scripts: &[String], needle: &str, what: &str) -> usize {
    scripts
        .iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("{DEPLOY}: no step {what} ({needle:?})"))
}

#[test]
fn pull_requests_run_the_check_command_in_ci_beside_mariadb_and_redis() {
    let workflow: Yaml = files::yaml_file(CHECK);
    assert!(
        workflow["on"]
            .as_mapping()
            .is_some_and(|on| on.contains_key("pull_request")),
        "{CHECK}: not run on pull requests"
    );
    let job = &workflow["jobs"]["check"];
    assert_eq!(
        job["env"]["CI"].as_str(),
        Some("true"),
        "{CHECK}: CI is not true"
    );
    for service in ["mariadb", "redis"] {
        assert!(
            job["services"][service]["image"].as_str().is_some(),
            "{CHECK}: no {service} service"
        );
    }
    assert!(
        scripts(&workflow)
            .iter()
            .any(|s| s.trim() == "scripts/check"),
        "{CHECK}: does not run scripts/check with every stage"
    );
}

#[test]
fn main_builds_the_image_of_the_commit_then_migrates_then_rolls_out() {
    let workflow: Yaml = files::yaml_file(DEPLOY);
    let branches = &workflow["on"]["push"]["branches"];
    assert_eq!(
        branches.as_sequence().map(Vec::len),
        Some(1),
        "{DEPLOY}: not run on pushes to one branch"
    );
    assert_eq!(branches[0].as_str(), Some("main"));
    let text = files::read(DEPLOY);
    assert!(
        text.contains("${GITHUB_SHA}"),
        "{DEPLOY}: the image is not tagged with the commit"
    );
    let scripts = scripts(&workflow);
    let push = position(&scripts, "docker push", "pushing the image");
    let migrate = position(
        &scripts,
        "wait --for=condition=complete job/twooter-migrate",
        "waiting for the migrate Job",
    );
    let rollout = position(
        &scripts,
        "rollout status deployment/twooter",
        "waiting for the rollout",
    );
    assert!(
        push < migrate && migrate < rollout,
        "{DEPLOY}: the order must be push, migrate, roll out"
    );
    assert!(
        scripts[migrate].contains("deploy/k8s/migrate-job.yaml")
            && scripts[rollout].contains("deploy/k8s/deployment.yaml"),
        "{DEPLOY}: the release uses the manifests of deploy/k8s"
    );
    let job: Yaml = files::yaml_file("deploy/k8s/migrate-job.yaml");
    let args = &job["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(
        args[0].as_str(),
        Some("migrate"),
        "the migrate Job runs twooter migrate"
    );
}
