//! Every committed generated file is what its source generates now.

#[test]
fn generated_files_are_fresh() {
    let root = bindings::workspace_root();
    let files = bindings::generate(&root).expect("the sources generate");
    let stale: Vec<&str> = files
        .iter()
        .filter(|file| {
            std::fs::read_to_string(root.join(file.path)).ok() != Some(file.contents.clone())
        })
        .map(|file| file.path)
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files: {}; refresh them with `{}` and commit the result",
        stale.join(", "),
        bindings::REFRESH
    );
}
