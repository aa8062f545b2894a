//! `system.toml`, the system manifest: the kernel's features, the boot and
//! test images' components, the minimal configurations; and the check that
//! it agrees with the workspace.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use toml::{Table, Value};

use crate::workspace::workspace_root;

/// The manifest's file name, at the repository's root.
pub const FILE: &str = "system.toml";

/// What `system.toml` says.
#[derive(Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The cargo features of the kernel both images boot.
    pub kernel_features: Vec<String>,
    /// The namespace name the kernel starts once it is up (on a minimal
    /// kernel, its built-in program answers to it).
    pub startup: String,
    /// The directory whose tree the boot RomFS holds beside the components.
    pub boot_files: String,
    /// The product image's components.
    pub boot: Vec<Component>,
    /// The components only the test image holds.
    pub test: Vec<Component>,
    /// The directory below `/boot` that holds the broken test images.
    pub broken_images: String,
    /// The minimal kernels: a name and its cargo features.
    pub minimal: Vec<Configuration>,
    /// The trust file packed into the boot images, relative to the root.
    pub trust_file: String,
}

/// One component of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Its directory, relative to the root (`components/hello`).
    pub directory: String,
    /// Where it is bound, without the leading `/` (`hello`, `sys/vm`):
    /// its image is packed as `/boot/<path>`.
    pub path: String,
    /// Its module name, the last segment of its path (`hello`, `vm`).
    pub name: String,
}

impl Component {
    /// The last segment of its directory: its crate's (and ELF's) name,
    /// and the stem of its `.def` and `.c` files.
    pub fn stem(&self) -> &str {
        let directory = self.directory.as_str();
        directory.rsplit('/').next().unwrap_or(directory)
    }

    /// Whether it is a Rust crate (else C source).
    pub fn is_rust(&self) -> bool {
        workspace_root()
            .join(&self.directory)
            .join("Cargo.toml")
            .exists()
    }
}

/// A minimal kernel configuration.
#[derive(Debug, PartialEq, Eq)]
pub struct Configuration {
    /// Its name (`single-threaded`).
    pub name: String,
    /// The kernel's cargo features in it.
    pub features: Vec<String>,
}

impl Configuration {
    /// Whether the kernel has threads in this configuration.
    pub fn has_threads(&self) -> bool {
        self.features.iter().any(|feature| feature == "threads")
    }
}

impl Manifest {
    /// Reads the repository's `system.toml`.
    pub fn load() -> Result<Manifest> {
        let path = workspace_root().join(FILE);
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Manifest::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses a manifest; unknown sections and keys are errors, so a typo
    /// does not silently drop a component.
    pub fn parse(text: &str) -> Result<Manifest> {
        let mut root: Table = text.parse()?;
        let mut kernel = take_table(&mut root, "kernel")?;
        let mut boot = take_table(&mut root, "boot")?;
        let mut test = take_table(&mut root, "test")?;
        let minimal = take_table(&mut root, "minimal")?;
        let mut signing = take_table(&mut root, "signing")?;
        let manifest = Manifest {
            trust_file: take_string(&mut signing, "signing.trust")?,
            kernel_features: take_strings(&mut kernel, "kernel.features")?,
            startup: take_string(&mut kernel, "kernel.startup")?,
            boot_files: take_string(&mut boot, "boot.files")?,
            boot: components(take_table(&mut boot, "components")?, "boot.components")?,
            test: components(take_table(&mut test, "components")?, "test.components")?,
            broken_images: take_string(&mut test, "test.broken-images")?,
            minimal: minimal
                .into_iter()
                .map(|(name, value)| {
                    let Value::Table(mut table) = value else {
                        bail!("minimal.{name} is not a table");
                    };
                    let features = take_strings(&mut table, &format!("minimal.{name}.features"))?;
                    no_more(&table, &format!("minimal.{name}"))?;
                    Ok(Configuration { name, features })
                })
                .collect::<Result<_>>()?,
        };
        for (table, section) in [
            (&root, ""),
            (&kernel, "kernel"),
            (&boot, "boot"),
            (&test, "test"),
            (&signing, "signing"),
        ] {
            no_more(table, section)?;
        }
        if manifest.minimal.is_empty() {
            bail!("no [minimal.<name>] configuration");
        }
        let broken = format!("{}/", manifest.broken_images);
        if let Some(clash) = manifest
            .test_image()
            .iter()
            .find(|c| c.path.starts_with(&broken))
        {
            bail!(
                "/{} is below /{}, where the broken test images go",
                clash.path,
                manifest.broken_images
            );
        }
        Ok(manifest)
    }

    /// The test image's components: the boot image's, then the test-only ones.
    pub fn test_image(&self) -> Vec<Component> {
        self.boot.iter().chain(&self.test).cloned().collect()
    }
}

/// Reads `[<section>]`'s `"<directory>" = "/<name>"` entries, sorted by name.
fn components(table: Table, section: &str) -> Result<Vec<Component>> {
    let mut components = table
        .into_iter()
        .map(|(directory, value)| {
            let bound = value
                .as_str()
                .ok_or_else(|| anyhow!("{section}.\"{directory}\" is not a string"))?;
            let path = bound
                .strip_prefix('/')
                .filter(|path| {
                    path.split('/')
                        .all(|segment| !matches!(segment, "" | "." | ".."))
                })
                .ok_or_else(|| {
                    anyhow!(
                        "{section}.\"{directory}\": \"{bound}\" is not a name like \"/hello\" or \"/sys/vm\""
                    )
                })?;
            let name = path.rsplit('/').next().unwrap_or(path);
            Ok(Component {
                directory,
                path: path.to_owned(),
                name: name.to_owned(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    components.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(components)
}

fn take_table(table: &mut Table, key: &str) -> Result<Table> {
    match table.remove(key) {
        Some(Value::Table(inner)) => Ok(inner),
        Some(_) => bail!("{key} is not a table"),
        None => bail!("[{key}] is missing"),
    }
}

fn take_string(table: &mut Table, path: &str) -> Result<String> {
    let key = path.rsplit('.').next().unwrap_or(path);
    match table.remove(key) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => bail!("{path} is not a string"),
        None => bail!("{path} is missing"),
    }
}

fn take_strings(table: &mut Table, path: &str) -> Result<Vec<String>> {
    let key = path.rsplit('.').next().unwrap_or(path);
    let Some(Value::Array(values)) = table.remove(key) else {
        bail!("{path} is missing or not a list");
    };
    values
        .into_iter()
        .map(|value| match value {
            Value::String(text) => Ok(text),
            _ => Err(anyhow!("{path} holds something other than strings")),
        })
        .collect()
}

fn no_more(table: &Table, section: &str) -> Result<()> {
    if let Some(key) = table.keys().next() {
        let section = if section.is_empty() {
            "the top level"
        } else {
            section
        };
        bail!("unknown key {key:?} in {section}");
    }
    Ok(())
}

/// The workspace as far as the manifest must agree with it.
#[derive(Debug, Default)]
pub struct Workspace {
    /// The `members` of the root Cargo.toml.
    pub members: Vec<String>,
    /// The kernel's cargo features (kernel/Cargo.toml).
    pub kernel_features: Vec<String>,
    /// Every component directory there is: each listed member and each
    /// directory under `components/`, with what it holds.
    pub directories: BTreeMap<String, Holds>,
}

/// What a candidate component directory holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Holds {
    /// A component crate: a `Cargo.toml` that builds with `component-build`.
    pub component_crate: bool,
    /// `<last path segment>.c`.
    pub c_source: bool,
    /// The module its `<last path segment>.def` names, if it has one.
    pub def_module: Option<String>,
}

impl Workspace {
    /// Reads the workspace around the manifest from disk.
    pub fn read(manifest: &Manifest) -> Result<Workspace> {
        let root = workspace_root();
        let cargo: Table = read_toml(&root.join("Cargo.toml"))?;
        let members = cargo
            .get("workspace")
            .and_then(|workspace| workspace.get("members"))
            .and_then(Value::as_array)
            .context("Cargo.toml has no [workspace] members")?
            .iter()
            .filter_map(|member| member.as_str().map(str::to_owned))
            .collect::<Vec<_>>();
        let kernel: Table = read_toml(&root.join("kernel/Cargo.toml"))?;
        let kernel_features = kernel
            .get("features")
            .and_then(Value::as_table)
            .map(|features| features.keys().cloned().collect())
            .unwrap_or_default();
        let mut candidates: Vec<String> = members.clone();
        candidates.extend(manifest.test_image().into_iter().map(|c| c.directory));
        let components = root.join("components");
        for entry in fs::read_dir(&components)
            .with_context(|| format!("reading {}", components.display()))?
        {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                candidates.push(format!("components/{name}"));
            }
        }
        let mut directories = BTreeMap::new();
        for directory in candidates {
            let holds = Holds::read(&root.join(&directory))?;
            directories.insert(directory, holds);
        }
        Ok(Workspace {
            members,
            kernel_features,
            directories,
        })
    }
}

impl Holds {
    fn read(directory: &Path) -> Result<Holds> {
        let name = directory
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let def = directory.join(format!("{name}.def"));
        let def_module = if def.exists() {
            let text =
                fs::read_to_string(&def).with_context(|| format!("reading {}", def.display()))?;
            let module =
                image::def::parse(&text).map_err(|error| anyhow!("{}: {error}", def.display()))?;
            Some(module.name)
        } else {
            None
        };
        let cargo = directory.join("Cargo.toml");
        let component_crate = cargo.exists()
            && read_toml(&cargo)?
                .get("build-dependencies")
                .and_then(|dependencies| dependencies.get("component-build"))
                .is_some();
        Ok(Holds {
            component_crate,
            c_source: directory.join(format!("{name}.c")).exists(),
            def_module,
        })
    }
}

fn read_toml(path: &Path) -> Result<Table> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse()
        .with_context(|| format!("parsing {}", path.display()))
}

/// Every way the manifest and the workspace disagree, one sentence each.
pub fn disagreements(manifest: &Manifest, workspace: &Workspace) -> Vec<String> {
    let mut problems = Vec::new();
    let listed = manifest.test_image();
    let mut names = BTreeMap::new();
    for component in &listed {
        let Component {
            directory,
            path,
            name,
        } = component;
        if let Some(other) = names.insert(name.as_str(), directory.as_str()) {
            problems.push(format!(
                "{FILE}: the module name {name} (of \"/{path}\") is both {other}'s and {directory}'s"
            ));
        }
        let last = component.stem();
        let holds = workspace
            .directories
            .get(directory)
            .cloned()
            .unwrap_or_default();
        match (holds.component_crate, holds.c_source) {
            (true, _) if !workspace.members.contains(directory) => problems.push(format!(
                "{FILE} lists the crate {directory}, which Cargo.toml's workspace members lack"
            )),
            (false, false) => problems.push(format!(
                "{FILE} lists {directory}, which holds neither a component crate (Cargo.toml \
                 building with component-build) nor C source ({last}.c)"
            )),
            _ => {}
        }
        match &holds.def_module {
            None => problems.push(format!("{FILE} lists {directory}, which has no {last}.def")),
            Some(module) if module != name => problems.push(format!(
                "{FILE} binds {directory} as \"/{path}\", but its {last}.def names the module \
                 {module}, not {name}"
            )),
            Some(_) => {}
        }
    }
    for (directory, holds) in &workspace.directories {
        let is_component = holds.component_crate || holds.c_source;
        let in_components = directory.starts_with("components/");
        if (is_component || in_components) && !listed.iter().any(|c| &c.directory == directory) {
            let what = if workspace.members.contains(directory) {
                "the workspace member"
            } else {
                "the component directory"
            };
            problems.push(format!(
                "{what} {directory} is in neither [boot.components] nor [test.components] of {FILE}"
            ));
        }
    }
    if !manifest
        .boot
        .iter()
        .any(|c| format!("/{}", c.path) == manifest.startup)
    {
        problems.push(format!(
            "{FILE} starts {:?}, which is not in [boot.components]",
            manifest.startup
        ));
    }
    let features = manifest
        .kernel_features
        .iter()
        .chain(manifest.minimal.iter().flat_map(|c| &c.features));
    for feature in features {
        if !workspace.kernel_features.contains(feature) {
            problems.push(format!(
                "{FILE} names the kernel feature {feature:?}, which kernel/Cargo.toml lacks"
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// Fails, naming every disagreement, when `system.toml` and the workspace
/// disagree.
pub fn check() -> Result<()> {
    let manifest = Manifest::load()?;
    let problems = disagreements(&manifest, &Workspace::read(&manifest)?);
    if !problems.is_empty() {
        bail!(
            "{FILE} and the workspace disagree:\n  {}\nlist each component in {FILE} and each crate in Cargo.toml's members",
            problems.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
        [kernel]
        features = ["threads", "loader"]
        startup = "/hello"
        [boot]
        files = "kernel/romfs"
        [boot.components]
        "components/hello" = "/hello"
        "components/chello" = "/chello"
        [test]
        broken-images = "test"
        [test.components]
        "components/failing" = "/failing"
        [minimal.single-threaded]
        features = []
        [signing]
        trust = "target/signing/dev.pub"
    "#;

    fn rust(module: &str) -> Holds {
        Holds {
            component_crate: true,
            c_source: false,
            def_module: Some(module.into()),
        }
    }

    /// A workspace that agrees with `MANIFEST`.
    fn agreeing() -> Workspace {
        let mut directories = BTreeMap::new();
        directories.insert("components/hello".into(), rust("hello"));
        directories.insert("components/failing".into(), rust("failing"));
        directories.insert(
            "components/chello".into(),
            Holds {
                component_crate: false,
                c_source: true,
                def_module: Some("chello".into()),
            },
        );
        directories.insert("lib/com".into(), Holds::default());
        Workspace {
            members: vec![
                "lib/com".into(),
                "components/hello".into(),
                "components/failing".into(),
            ],
            kernel_features: vec!["threads".into(), "loader".into()],
            directories,
        }
    }

    fn manifest() -> Manifest {
        Manifest::parse(MANIFEST).expect("the test manifest parses")
    }

    #[test]
    fn parses_every_section() {
        let manifest = manifest();
        assert_eq!(manifest.kernel_features, ["threads", "loader"]);
        assert_eq!(manifest.startup, "/hello");
        assert_eq!(manifest.boot_files, "kernel/romfs");
        assert_eq!(manifest.trust_file, "target/signing/dev.pub");
        let names: Vec<_> = manifest.test_image().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["chello", "hello", "failing"]);
        assert_eq!(manifest.broken_images, "test");
        assert_eq!(manifest.minimal[0].name, "single-threaded");
        assert!(!manifest.minimal[0].has_threads());
    }

    #[test]
    fn a_nested_name_packs_the_image_below_it() {
        let nested = MANIFEST.replace("\"/failing\"", "\"/sys/failing\"");
        let manifest = Manifest::parse(&nested).expect("a nested name parses");
        let failing = manifest.test.iter().find(|c| c.name == "failing");
        assert_eq!(failing.map(|c| c.path.as_str()), Some("sys/failing"));
    }

    #[test]
    fn unknown_keys_and_bad_names_are_errors() {
        let typo = MANIFEST.replace("[test.components]", "[test.component]");
        assert!(Manifest::parse(&typo).is_err());
        let among_broken = MANIFEST.replace("\"/failing\"", "\"/test/failing\"");
        assert!(Manifest::parse(&among_broken).is_err());
        let dotted = MANIFEST.replace("\"/failing\"", "\"/sys/../failing\"");
        assert!(Manifest::parse(&dotted).is_err());
        let bare = MANIFEST.replace("\"/failing\"", "\"failing\"");
        assert!(Manifest::parse(&bare).is_err());
    }

    #[test]
    fn an_agreeing_workspace_has_no_disagreements() {
        assert_eq!(
            disagreements(&manifest(), &agreeing()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_disagreement_is_named() {
        let mut workspace = agreeing();
        // A component crate in the workspace, not in the manifest.
        workspace.members.push("components/extra".into());
        workspace
            .directories
            .insert("components/extra".into(), rust("extra"));
        // A C component directory not listed.
        workspace.directories.insert(
            "components/cstray".into(),
            Holds {
                component_crate: false,
                c_source: true,
                def_module: Some("cstray".into()),
            },
        );
        // A listed crate missing from the workspace members.
        workspace
            .members
            .retain(|member| member != "components/failing");
        // A listed entry with nothing behind it.
        workspace.directories.remove("components/hello");
        let problems = disagreements(&manifest(), &workspace).join("\n");
        for expected in [
            "the workspace member components/extra is in neither",
            "the component directory components/cstray is in neither",
            "lists the crate components/failing, which Cargo.toml's workspace members lack",
            "lists components/hello, which holds neither a component crate",
            "lists components/hello, which has no hello.def",
        ] {
            assert!(
                problems.contains(expected),
                "{expected:?} not in:\n{problems}"
            );
        }
    }

    #[test]
    fn a_def_naming_another_module_or_an_unknown_feature_disagrees() {
        let mut workspace = agreeing();
        workspace
            .directories
            .insert("components/hello".into(), rust("howdy"));
        workspace
            .kernel_features
            .retain(|feature| feature != "loader");
        let problems = disagreements(&manifest(), &workspace).join("\n");
        assert!(problems.contains("names the module howdy"), "{problems}");
        assert!(problems.contains("kernel feature \"loader\""), "{problems}");
    }

    #[test]
    fn a_startup_program_outside_the_boot_image_disagrees() {
        let mut manifest = manifest();
        manifest.startup = "/failing".into();
        let problems = disagreements(&manifest, &agreeing()).join("\n");
        assert!(problems.contains("starts \"/failing\""), "{problems}");
    }

    #[test]
    fn the_repository_manifest_agrees_with_the_workspace() {
        let manifest = Manifest::load().expect("system.toml parses");
        let workspace = Workspace::read(&manifest).expect("the workspace reads");
        assert_eq!(disagreements(&manifest, &workspace), Vec::<String>::new());
    }
}
