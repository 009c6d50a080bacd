//! The names of the built browser bundle's files. A release build (`.ci/build`) gives every
//! file under `pkg/` a content hash in its name and writes the hashes to `hash.txt` in the site
//! root (`js: …`, `wasm: …`, `css: …`, and for a split bundle `manifest: …`, `split: …`), so
//! the server may let browsers keep them for a year. A build without hashes has the plain
//! names (`herald.js`, `herald.wasm`, `herald.css`).

use std::path::{Path, PathBuf};

/// The bundle's output name (`LEPTOS_OUTPUT_NAME`, baked in at compile time).
pub const OUTPUT_NAME: &str = "herald";

/// Where the hashes of a hashed build are, relative to the site root.
pub const HASH_FILE: &str = "hash.txt";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleFiles {
    /// The hash file when the names carry hashes (absolute), else `None`.
    pub hash_file: Option<PathBuf>,
    /// `pkg/`-relative names.
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl BundleFiles {
    /// Reads the names of the bundle built under `site_root`, and checks that its wasm is
    /// there: a server started without a built site would render pages that never hydrate.
    pub fn find(site_root: &Path) -> Result<Self, String> {
        let hash_file = site_root.join(HASH_FILE);
        let files = match std::fs::read_to_string(&hash_file) {
            Ok(text) => {
                let hash = |kind: &str| {
                    text.lines()
                        .filter_map(|line| line.split_once(':'))
                        .find(|(k, _)| k.trim() == kind)
                        .map(|(_, v)| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| format!("{} names no {kind} file", hash_file.display()))
                };
                Self {
                    js: format!("{OUTPUT_NAME}.{}.js", hash("js")?),
                    wasm: format!("{OUTPUT_NAME}.{}.wasm", hash("wasm")?),
                    css: format!("{OUTPUT_NAME}.{}.css", hash("css")?),
                    hash_file: Some(hash_file),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self {
                js: format!("{OUTPUT_NAME}.js"),
                wasm: format!("{OUTPUT_NAME}.wasm"),
                css: format!("{OUTPUT_NAME}.css"),
                hash_file: None,
            },
            Err(e) => return Err(format!("{}: {e}", hash_file.display())),
        };
        let wasm = site_root.join("pkg").join(&files.wasm);
        if !wasm.is_file() {
            return Err(format!(
                "no built site at {} (expected {}): build it with `bash .ci/build` \
                 or set LEPTOS_SITE_ROOT",
                site_root.display(),
                wasm.display()
            ));
        }
        Ok(files)
    }

    /// Whether browsers may keep these files for good (their names change with their content).
    pub fn immutable(&self) -> bool {
        self.hash_file.is_some()
    }
}

/// The stylesheet's address for the shell, read once per process from the site the server
/// was started with.
pub fn stylesheet_href(options: &leptos::config::LeptosOptions) -> String {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        let css = BundleFiles::find(Path::new(options.site_root.as_ref()))
            .map_or_else(|_| format!("{OUTPUT_NAME}.css"), |files| files.css);
        format!("/{}/{css}", options.site_pkg_dir)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hashed_and_plain_names_and_refuses_a_missing_bundle() {
        let dir = std::env::temp_dir().join(format!("herald-bundle-{}", std::process::id()));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).expect("temp dir");
        assert!(BundleFiles::find(&dir).is_err(), "no wasm: refused");

        std::fs::write(pkg.join("herald.wasm"), b"\0asm").expect("write");
        let plain = BundleFiles::find(&dir).expect("plain names");
        assert_eq!(plain.js, "herald.js");
        assert!(!plain.immutable());

        std::fs::write(dir.join(HASH_FILE), "js: AAA\nwasm: BBB\ncss: CCC\n").expect("write");
        assert!(
            BundleFiles::find(&dir).is_err(),
            "hashed wasm missing: refused"
        );
        std::fs::write(pkg.join("herald.BBB.wasm"), b"\0asm").expect("write");
        let hashed = BundleFiles::find(&dir).expect("hashed names");
        assert_eq!(
            (hashed.js.as_str(), hashed.css.as_str()),
            ("herald.AAA.js", "herald.CCC.css")
        );
        assert!(hashed.immutable());

        std::fs::write(dir.join(HASH_FILE), "js: AAA\n").expect("write");
        assert!(
            BundleFiles::find(&dir).is_err(),
            "incomplete hash file: refused"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
