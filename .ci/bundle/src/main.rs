//! herald-bundle: builds the site the server serves from the release wasm of the `app` crate.
//!
//! ```text
//! herald-bundle --wasm target/…/app.wasm --site target/site --style style/main.css \
//!               --assets public --name herald
//! ```
//!
//! 1. **Split** the wasm at Leptos's lazy routes (`#[lazy]`) into a main module and chunks,
//!    with the loader script that fetches them (wasm_split_cli_support, as cargo-leptos does).
//! 2. **wasm-bindgen** the main module (web target, the glue script `NAME.js`).
//! 3. **wasm-opt -Oz** every wasm file, as many at a time as there are cores.
//! 4. The stylesheet and the static assets.
//! 5. **Names by content**, so the server can tell browsers to cache `/pkg` for a year: the main
//!    glue script, the chunk loader and the chunks refer to each other (the glue imports the
//!    loader, the loader imports the glue and fetches the chunks, the chunks import the loader),
//!    so they are named from one digest of all of them before any renaming, and each wasm file
//!    from its own final bytes. The same name therefore always means the same bytes, also
//!    across builds. `hash.txt` lists the names in the format Leptos reads.
//! 6. **Precompress** every file once, brotli 11 and gzip 9, for the server to send as is.
//!
//! Everything is written to `SITE.new` and swapped in at the end, so a failed build leaves the
//! previous site whole.

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    sync::Mutex,
    thread,
    time::Instant,
};

use base64ct::{Base64UrlUnpadded, Encoding};
use md5::{Digest, Md5};

/// Stands for a name's hash until it is known: 22 characters, the length of an MD5 digest in
/// unpadded base64url, so it can be replaced inside a wasm binary without moving any byte.
const PLACEHOLDER: &str = "______________________";

type Res<T> = Result<T, String>;

struct Args {
    wasm: PathBuf,
    site: PathBuf,
    style: PathBuf,
    assets: PathBuf,
    name: String,
}

const USAGE: &str =
    "usage: herald-bundle --wasm FILE --site DIR --style FILE --assets DIR --name NAME";

fn parse_args() -> Res<Args> {
    let mut map = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let key = match flag.as_str() {
            "--wasm" | "--site" | "--style" | "--assets" | "--name" => flag,
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        };
        let value = args
            .next()
            .ok_or_else(|| format!("{key} needs a value\n{USAGE}"))?;
        map.insert(key, value);
    }
    let mut take = |key: &str| {
        map.remove(key)
            .ok_or_else(|| format!("{key} is missing\n{USAGE}"))
    };
    Ok(Args {
        wasm: take("--wasm")?.into(),
        site: take("--site")?.into(),
        style: take("--style")?.into(),
        assets: take("--assets")?.into(),
        name: take("--name")?,
    })
}

fn main() -> ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald-bundle: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    let staging = with_suffix(&args.site, "new");
    remove_dir(&staging)?;
    let pkg = staging.join("pkg");
    fs::create_dir_all(&pkg).map_err(|e| io_error(&pkg, e))?;

    let step = Instant::now();
    let manifest = split(args, &staging, &pkg)?;
    report("split at the lazy routes", step, &pkg);

    let step = Instant::now();
    optimize_all(&pkg)?;
    report("wasm-opt -Oz", step, &pkg);

    copy(&args.style, &pkg.join(format!("{}.css", args.name)))?;
    for reserved in ["pkg", "hash.txt"] {
        if args.assets.join(reserved).exists() {
            return Err(format!(
                "{} may not contain {reserved}: the build writes it",
                args.assets.display()
            ));
        }
    }
    copy_dir(&args.assets, &staging)?;

    let hashes = name_by_content(&pkg, &args.name, &manifest)?;

    let step = Instant::now();
    let count = compress_all(&staging)?;
    println!(
        "precompressed {count} files (brotli 11, gzip 9) in {:.1} s",
        secs(step)
    );
    // For the server only: written after compression, so it is not served compressed.
    fs::write(staging.join("hash.txt"), hashes).map_err(|e| io_error(&staging, e))?;

    swap_in(&staging, &args.site)?;
    println!(
        "the site is in {} ({:.1} s)",
        args.site.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Splits the wasm, then runs wasm-bindgen on the main module. Returns the split manifest
/// (lazy route → the chunk file stems it needs).
fn split(args: &Args, staging: &Path, pkg: &Path) -> Res<HashMap<String, Vec<String>>> {
    let input = fs::read(&args.wasm).map_err(|e| io_error(&args.wasm, e))?;
    let main_split = staging.join("main_split.wasm");
    let link_name = format!("./{}", loader_file(PLACEHOLDER));
    let main_module = format!("./{}.js", args.name);
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = pkg;
    options.main_out_path = &main_split;
    options.link_name = &link_name;
    options.main_module = &main_module;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| format!("splitting {}: {e:?}", args.wasm.display()))?;

    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main_split)
        .out_name(&args.name)
        // What the split chunks link against must stay exported and keep its names.
        .keep_lld_exports(true)
        .demangle(false)
        .typescript(false)
        .omit_default_module_path(false)
        .web(true)
        .and_then(|bindgen| bindgen.generate(pkg))
        .map_err(|e| format!("wasm-bindgen: {e:?}"))?;
    fs::remove_file(&main_split).map_err(|e| io_error(&main_split, e))?;
    // wasm-bindgen's snippets (`inline_js`, `module = …`) are named by crate, not by content,
    // so they could not be cached as immutable; Herald has none, and must not grow one unseen.
    if pkg.join("snippets").exists() {
        return Err(
            "wasm-bindgen wrote JavaScript snippets (pkg/snippets): name them by content \
                    here before serving /pkg as immutable"
                .into(),
        );
    }
    let loader = pkg.join(loader_file(PLACEHOLDER));
    let text = read_text(&loader)?;
    write_text(&loader, &canonical_loader(&text))?;
    let bg = pkg.join(format!("{}_bg.wasm", args.name));
    let main_wasm = pkg.join(format!("{}.wasm", args.name));
    fs::rename(&bg, &main_wasm).map_err(|e| io_error(&bg, e))?;
    Ok(split.prefetch_map)
}

/// Runs `wasm-opt -Oz` on every wasm file in `dir`, one process per core, and drops the custom
/// sections no browser reads.
fn optimize_all(dir: &Path) -> Res<()> {
    each_largest_first(files_with_extension(dir, "wasm")?, |file| {
        // One file per core, each on one core: more parallel than binaryen's own threads over
        // one module's functions, without oversubscribing.
        let mut command = Command::new("wasm-opt");
        command.env("BINARYEN_CORES", "1").args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            // Custom sections for linkers and toolchain statistics, which browsers never
            // read: ~200 bytes in every file, as much as many small chunks' own code.
            "--strip-producers",
            "--strip-target-features",
        ]);
        // For profiling the browser's work by function (a Chrome DevTools CPU profile of a
        // page load): keep the names section, which -Oz otherwise drops. Never for a bundle
        // that is served.
        if std::env::var_os("HERALD_BUNDLE_KEEP_NAMES").is_some() {
            command.arg("-g");
        }
        let out = command
            .arg(file)
            .arg("-o")
            .arg(file)
            .output()
            .map_err(|e| format!("running wasm-opt (binaryen ≥ 116 on PATH?): {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "wasm-opt failed on {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    })
}

/// Runs `work` on every file, one thread per core, the largest files first (so the main chunk
/// does not start last); stops at the first error.
fn each_largest_first(mut files: Vec<PathBuf>, work: impl Fn(&Path) -> Res<()> + Sync) -> Res<()> {
    // Workers take from the end: largest last.
    files.sort_by_key(|f| fs::metadata(f).map(|m| m.len()).unwrap_or(0));
    let queue = Mutex::new(files);
    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Res<()> {
                    loop {
                        // Taken in its own statement: the lock is not held while working.
                        let next = queue.lock().expect("queue").pop();
                        let Some(file) = next else { return Ok(()) };
                        work(&file)?;
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| "a worker thread panicked".to_string())?
        })
    })
}

/// Gives the files in `pkg` their final, content-derived names (see the module comment) and
/// writes the split manifest. Returns the contents of `hash.txt`.
fn name_by_content(pkg: &Path, name: &str, manifest: &HashMap<String, Vec<String>>) -> Res<String> {
    let main_js = pkg.join(format!("{name}.js"));
    let main_wasm = format!("{name}.wasm");
    let loader = pkg.join(loader_file(PLACEHOLDER));
    let css = format!("{name}.css");

    // One digest of everything in the cycle, before any renaming.
    let mut all = Md5::new();
    let mut files: Vec<PathBuf> = files_with_extension(pkg, "wasm")?;
    files.push(main_js.clone());
    files.push(loader.clone());
    files.sort();
    for file in &files {
        let bytes = fs::read(file).map_err(|e| io_error(file, e))?;
        all.update(file_name(file).as_bytes());
        all.update((bytes.len() as u64).to_le_bytes());
        all.update(&bytes);
    }
    let bundle = Base64UrlUnpadded::encode_string(&all.finalize());
    let placeholder_link = loader_file(PLACEHOLDER);
    let final_link = loader_file(&bundle);

    // The wasm files: the loader's real name in place of the placeholder, then each named by
    // its own bytes.
    let mut wasm_names = BTreeMap::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "wasm"))
    {
        let mut bytes = fs::read(file).map_err(|e| io_error(file, e))?;
        replace_bytes(
            &mut bytes,
            placeholder_link.as_bytes(),
            final_link.as_bytes(),
        );
        let stem = file_name(file).trim_end_matches(".wasm").to_string();
        let hashed = format!("{stem}.{}", digest(&bytes));
        fs::write(pkg.join(format!("{hashed}.wasm")), &bytes).map_err(|e| io_error(file, e))?;
        fs::remove_file(file).map_err(|e| io_error(file, e))?;
        wasm_names.insert(stem, hashed);
    }
    let main_hash = wasm_names
        .get(main_wasm.trim_end_matches(".wasm"))
        .and_then(|hashed| hashed.rsplit('.').next())
        .ok_or("wasm-bindgen wrote no main wasm")?
        .to_string();

    // The glue script imports the loader.
    let glue = read_text(&main_js)?;
    if !glue.contains(&placeholder_link) {
        return Err(format!(
            "{} does not import the chunk loader",
            main_js.display()
        ));
    }
    write_text(
        &pkg.join(format!("{name}.{bundle}.js")),
        &glue.replace(&placeholder_link, &final_link),
    )?;
    fs::remove_file(&main_js).map_err(|e| io_error(&main_js, e))?;

    // The loader imports the glue script and fetches the chunks by name.
    let mut script = read_text(&loader)?;
    let import = format!("\"./{name}.js\"");
    if !script.contains(&import) {
        return Err(format!("{} does not import {import}", loader.display()));
    }
    script = script.replace(&import, &format!("\"./{name}.{bundle}.js\""));
    for (stem, hashed) in &wasm_names {
        script = script.replace(
            &format!("\"./{stem}.wasm\""),
            &format!("\"./{hashed}.wasm\""),
        );
    }
    if script.contains(PLACEHOLDER) || unrenamed(&script, &wasm_names) {
        return Err(format!(
            "{} still names a file that was renamed",
            loader.display()
        ));
    }
    write_text(&pkg.join(&final_link), &script)?;
    fs::remove_file(&loader).map_err(|e| io_error(&loader, e))?;

    // The manifest the server reads to preload a page's chunks.
    let mut renamed = BTreeMap::new();
    for (split, stems) in manifest {
        let stems = stems
            .iter()
            .map(|stem| {
                wasm_names.get(stem).cloned().ok_or_else(|| {
                    format!("the split manifest names {stem}, which was not written")
                })
            })
            .collect::<Res<Vec<_>>>()?;
        renamed.insert(split.clone(), stems);
    }
    let manifest = serde_json::to_string_pretty(&renamed).map_err(|e| e.to_string())?;
    let manifest_hash = digest(manifest.as_bytes());
    write_text(
        &pkg.join(format!("__wasm_split_manifest.{manifest_hash}.json")),
        &manifest,
    )?;

    let css_path = pkg.join(&css);
    let css_bytes = fs::read(&css_path).map_err(|e| io_error(&css_path, e))?;
    let css_hash = digest(&css_bytes);
    let css_final = pkg.join(format!("{name}.{css_hash}.css"));
    fs::rename(&css_path, &css_final).map_err(|e| io_error(&css_path, e))?;

    Ok(format!(
        "js: {bundle}\nwasm: {main_hash}\ncss: {css_hash}\nmanifest: {manifest_hash}\nsplit: {bundle}\n"
    ))
}

/// Writes `FILE.br` (brotli 11) and `FILE.gz` (gzip 9) beside every file under `dir`, one
/// thread per core. Returns how many files were compressed.
fn compress_all(dir: &Path) -> Res<usize> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.retain(|f| !f.extension().is_some_and(|e| e == "br" || e == "gz"));
    let count = files.len();
    each_largest_first(files, compress)?;
    Ok(count)
}

fn compress(file: &Path) -> Res<()> {
    let bytes = fs::read(file).map_err(|e| io_error(file, e))?;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut bytes.as_slice(), &mut br, &params)
        .map_err(|e| io_error(file, e))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).map_err(|e| io_error(file, e))?;
    let gz = gz.finish().map_err(|e| io_error(file, e))?;
    fs::write(with_suffix(file, "br"), br).map_err(|e| io_error(file, e))?;
    fs::write(with_suffix(file, "gz"), gz).map_err(|e| io_error(file, e))
}

/// Replaces `site` with `staging`, keeping the old site until the new one is in place.
fn swap_in(staging: &Path, site: &Path) -> Res<()> {
    let old = with_suffix(site, "old");
    remove_dir(&old)?;
    if site.exists() {
        fs::rename(site, &old).map_err(|e| io_error(site, e))?;
    }
    fs::rename(staging, site).map_err(|e| io_error(staging, e))?;
    remove_dir(&old)
}

/// The splitter lists the main module's shared exports in a hash set's order, which changes
/// from run to run; sorted, the same input gives the same loader, so the same names.
fn canonical_loader(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let shared = line.contains("= initSync(") || line.contains("Object.assign(sharedImports");
        match (shared, line.find("{ "), line.find(" }")) {
            (true, Some(open), Some(close)) if open < close => {
                let mut names: Vec<&str> = line[open + 2..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .collect();
                names.sort_unstable();
                out.push_str(&line[..open + 2]);
                for name in names {
                    out.push_str(name);
                    out.push_str(", ");
                }
                out.push_str(&line[close..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Whether the loader still fetches a wasm file by a name from before the renaming.
fn unrenamed(script: &str, names: &BTreeMap<String, String>) -> bool {
    names
        .keys()
        .any(|stem| script.contains(&format!("\"./{stem}.wasm\"")))
}

fn loader_file(hash: &str) -> String {
    format!("__wasm_split.{hash}.js")
}

fn digest(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(&Md5::digest(bytes))
}

fn replace_bytes(haystack: &mut [u8], from: &[u8], to: &[u8]) {
    debug_assert_eq!(from.len(), to.len());
    let mut i = 0;
    while i + from.len() <= haystack.len() {
        if &haystack[i..i + from.len()] == from {
            haystack[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

fn files_with_extension(dir: &Path, extension: &str) -> Res<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Res<()> {
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Res<()> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| io_error(from, e))
}

fn copy_dir(from: &Path, to: &Path) -> Res<()> {
    for entry in fs::read_dir(from).map_err(|e| io_error(from, e))? {
        let path = entry.map_err(|e| io_error(from, e))?.path();
        let target = to.join(path.file_name().expect("a directory entry has a name"));
        if path.is_dir() {
            fs::create_dir_all(&target).map_err(|e| io_error(&target, e))?;
            copy_dir(&path, &target)?;
        } else {
            copy(&path, &target)?;
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Res<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(dir, e)),
        _ => Ok(()),
    }
}

fn read_text(path: &Path) -> Res<String> {
    fs::read_to_string(path).map_err(|e| io_error(path, e))
}

fn write_text(path: &Path, text: &str) -> Res<()> {
    fs::write(path, text).map_err(|e| io_error(path, e))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    name.into()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

fn report(what: &str, since: Instant, pkg: &Path) {
    let count = files_with_extension(pkg, "wasm").map_or(0, |f| f.len());
    println!("{what}: {count} wasm files, {:.1} s", secs(since));
}
