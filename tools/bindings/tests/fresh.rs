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

/// The crates whose `#[interface]` declarations the C header covers.
const INTERFACE_SOURCES: &[&str] = &[
    "lib/com/src",
    "lib/interfaces/src",
    "lib/private-interfaces/src",
];

/// The trait names that follow `#[interface(...)]` in the `.rs` files under
/// `directory` (doc lines may come between).
fn declared_interfaces(directory: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(directory).expect("the source directory reads") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("the source reads");
        let mut after_attribute = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[interface(") {
                after_attribute = true;
            } else if after_attribute && let Some(rest) = line.strip_prefix("pub trait ") {
                let name: String = rest
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                names.push(name);
                after_attribute = false;
            }
        }
    }
    names
}

#[test]
fn every_declared_interface_is_in_the_c_header_or_test_only() {
    let root = bindings::workspace_root();
    let listed = bindings::header_interfaces();
    let missing: Vec<String> = INTERFACE_SOURCES
        .iter()
        .flat_map(|directory| declared_interfaces(&root.join(directory)))
        .filter(|name| {
            !listed.contains(&name.as_str()) && !bindings::TEST_ONLY.contains(&name.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "interfaces declared but in neither the C header's list nor the test-only one \
         (tools/bindings/src/c_interfaces.rs): {}",
        missing.join(", ")
    );
    assert!(listed.contains(&"INamespace") && listed.contains(&"IMutable"));
}
