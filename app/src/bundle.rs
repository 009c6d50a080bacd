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
                    hash_entry(&text, kind)
                        .ok_or_else(|| format!("{} names no {kind} file", hash_file.display()))
                };
                Self {
                    js: format!("{OUTPUT_NAME}.{}.js", hash("js")?),
                    wasm: format!("{OUTPUT_NAME}.{}.wasm", hash("wasm")?),
                    css: format!("{OUTPUT_NAME}.{}.css", hash("css")?),
                    hash_file: Some(hash_file),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::plain(),
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

    /// The names of a build without hashes.
    fn plain() -> Self {
        Self {
            js: format!("{OUTPUT_NAME}.js"),
            wasm: format!("{OUTPUT_NAME}.wasm"),
            css: format!("{OUTPUT_NAME}.css"),
            hash_file: None,
        }
    }

    /// Whether browsers may keep these files for good (their names change with their content).
    pub fn immutable(&self) -> bool {
        self.hash_file.is_some()
    }
}

/// The hash `hash.txt` gives a kind of file (`js: …`), if any.
fn hash_entry(text: &str, kind: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(k, _)| k.trim() == kind)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// What a page loads from `/pkg`, by address, read once per process from the site the server
/// was started with.
#[cfg(feature = "ssr")]
struct SiteFiles {
    css: String,
    js: String,
    wasm: String,
    /// The split bundle's chunk loader (imported by the main script).
    split: Option<String>,
    /// Per lazy page area (its `#[lazy]` function's name), the addresses of the wasm chunks
    /// its pages need, space-separated.
    areas: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
fn site_files(options: &leptos::config::LeptosOptions) -> &'static SiteFiles {
    static FILES: std::sync::OnceLock<SiteFiles> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let root = Path::new(options.site_root.as_ref());
        let pkg = format!("/{}", options.site_pkg_dir);
        let files = BundleFiles::find(root).unwrap_or_else(|_| BundleFiles::plain());
        let hashes = files
            .hash_file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let hash = |kind: &str| hash_entry(&hashes, kind);
        // The split manifest: `{"public_pages_<id>": ["chunk_12.<hash>", …], …}`.
        let areas = hash("manifest")
            .and_then(|h| {
                let path = root
                    .join(options.site_pkg_dir.as_ref())
                    .join(format!("__wasm_split_manifest.{h}.json"));
                std::fs::read_to_string(path).ok()
            })
            .and_then(|text| {
                serde_json::from_str::<std::collections::HashMap<String, Vec<String>>>(&text).ok()
            })
            .map(|manifest| {
                manifest
                    .into_iter()
                    .map(|(key, chunks)| {
                        let area = key.rsplit_once('_').map_or(key.as_str(), |(a, _)| a);
                        let hrefs: Vec<String> =
                            chunks.iter().map(|c| format!("{pkg}/{c}.wasm")).collect();
                        (area.to_string(), hrefs.join(" "))
                    })
                    .collect()
            })
            .unwrap_or_default();
        SiteFiles {
            css: format!("{pkg}/{}", files.css),
            js: format!("{pkg}/{}", files.js),
            wasm: format!("{pkg}/{}", files.wasm),
            split: hash("split").map(|h| format!("{pkg}/__wasm_split.{h}.js")),
            areas,
        }
    })
}

/// The stylesheet's address for the shell.
#[cfg(feature = "ssr")]
pub fn stylesheet_href(options: &leptos::config::LeptosOptions) -> String {
    site_files(options).css.clone()
}

/// The page's one script, in place of Leptos's `HydrationScripts`: after the first paint it
/// starts fetching the main script and wasm, the chunk loader and the wasm chunks of the
/// page's area (named by the `herald-chunks` meta tag, see [`name_area_chunks`]), then
/// hydrates. Nothing is fetched before the page has painted, so the server-rendered
/// page appears without sharing the connection with half a megabyte of wasm (Leptos preloads
/// all of it from the `<head>`, which held a mobile first paint back by seconds). A hidden tab
/// paints nothing, so there it starts at once. The main files first; then the area's chunks,
/// [`PRELOADS_PER_TASK`] per task: each preload costs the main thread about half a millisecond
/// (a phone's four times that), and a page names 45–60 chunks, which in one task blocked input
/// for 90–250 ms with the CPU slowed four times (a Chrome trace; see the README).
#[cfg(feature = "ssr")]
pub fn loader_script(options: &leptos::config::LeptosOptions) -> String {
    let files = site_files(options);
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "((js, wasm, split) => {{\
let started = false;\
const go = () => {{\
if (started) return;\
started = true;\
const hint = (rel, href, fetched) => {{\
const link = document.createElement('link');\
link.rel = rel; link.href = href; link.crossOrigin = 'anonymous';\
if (fetched) {{ link.as = 'fetch'; link.type = 'application/wasm'; }}\
document.head.append(link);\
}};\
hint('preload', wasm, true);\
if (split) hint('modulepreload', split);\
import(js).then(m => m.default({{module_or_path: wasm}}).then(() => m.hydrate()));\
const chunks = document.querySelector('meta[name=\"herald-chunks\"]');\
const hrefs = chunks ? chunks.content.split(' ').filter(Boolean) : [];\
const more = () => {{\
for (const href of hrefs.splice(0, {per_task})) hint('preload', href, true);\
if (hrefs.length) setTimeout(more);\
}};\
more();\
}};\
if (document.hidden) go();\
else {{\
requestAnimationFrame(() => setTimeout(go));\
document.addEventListener('visibilitychange', go, {{once: true}});\
}}\
}})({}, {}, {});",
        quote(&files.js),
        quote(&files.wasm),
        files
            .split
            .as_deref()
            .map_or_else(|| "null".to_string(), quote),
        per_task = PRELOADS_PER_TASK,
    )
}

/// How many chunk preloads the page script adds in one task (see [`loader_script`]).
#[cfg(feature = "ssr")]
const PRELOADS_PER_TASK: usize = 8;

/// Names the wasm chunks of a lazy page area in the page's `<head>` (a `herald-chunks` meta
/// tag) for [`loader_script`]. Called on the server when a route of the area matches.
#[cfg(feature = "ssr")]
pub fn name_area_chunks(area: &str) {
    use leptos::prelude::*;
    let Some(state) = use_context::<crate::api::ctx::AppState>() else {
        return;
    };
    let files = site_files(&state.leptos_options);
    let Some((_, hrefs)) = files.areas.iter().find(|(a, _)| a == area) else {
        return;
    };
    // Rendering a leptos_meta tag on the server hands it to the `<head>`; nothing is written in
    // place.
    let _ = view! { <leptos_meta::Meta name="herald-chunks" content=hrefs.clone()/> }.to_html();
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
