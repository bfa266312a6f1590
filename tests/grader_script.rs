//! The grader script shown in README.md runs against a real server and passes; the README
//! shows the script exactly as it is in examples/grader.py.

mod common;

use common::app::TestApp;

const SCRIPT: &str = "examples/grader.py";

#[tokio::test]
async fn the_readme_grader_script_solves_an_exercise() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/grader.py"))
            .unwrap();
    let shown = readme
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md shows the grader in a ```python block");
    assert_eq!(shown, script, "README.md and {SCRIPT} differ");

    let mut app = TestApp::start().await;
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/grader.py"))
            .arg(base)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs (.ci/run checks it is installed)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "grader failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("tcp-client-echo: 5 of 5 checks"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    app.stop().await;
}
