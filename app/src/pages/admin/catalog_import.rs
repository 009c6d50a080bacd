//! Admin: import channels from a CSV file: upload, preview, confirm, watch it apply.

use crate::{
    api::catalog_import::{
        ApplyImport, DiscardImport, FILE_FIELD, UploadCatalog, load_import, poll_import,
        upload_catalog,
    },
    components::{FormError, form_error},
    error::AppError,
    model::{
        CatalogImportId, IMPORT_COLUMNS, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_STATUS_COLUMN,
        ImportPreview, ImportProblem, ImportProgress, ImportStatus, group_thousands,
    },
    pages::suspend_once,
};
use leptos::{
    prelude::*,
    server_fn::ServerFn,
    wasm_bindgen::JsCast,
    web_sys::{FormData, HtmlFormElement, SubmitEvent},
};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::time::Duration;

const SAMPLE: &str = "handle,title,topic,language,subscribers,avg_views,posts_per_day,status
@crypto_daily,Crypto Daily,crypto,en,12k,3400,2.5,active
tech_insider,\"Tech Insider, Kyiv\",Tech,uk,\"1,200\",300,1,inactive";

/// How often the page asks how far an import has got.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// "1 row", "12,000 rows".
fn rows(n: u64) -> String {
    counted(n, "row", "rows")
}

/// "1 channel", "80,000 channels".
fn channels(n: u64) -> String {
    counted(n, "channel", "channels")
}

fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_thousands(n), if n == 1 { one } else { many })
}

/// `/admin/catalog-import` (admins only): the import shown is the one in `?import=<id>`, so a
/// reload shows the same preview.
#[component]
pub fn CatalogImportPage() -> impl IntoView {
    let query = use_query_map();
    let import_id = Memo::new(move |_| {
        query
            .read()
            .get("import")
            .and_then(|v| v.parse().ok())
            .map(CatalogImportId)
    });
    // The server answers a successful upload with a redirect to `?import=<id>`.
    let upload = Action::new_local(|data: &FormData| upload_catalog(data.clone().into()));
    let apply = ServerAction::<ApplyImport>::new();
    let discard = ServerAction::<DiscardImport>::new();
    let finished = RwSignal::new(0u32);
    let import = Resource::new(
        move || {
            (
                import_id.get(),
                apply.version().get(),
                discard.version().get(),
                finished.get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => load_import(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Title text="Import channels"/>
        <h1>"Import channels"</h1>
        <p class="lead">
            "Add and update catalog channels from a CSV file. Nothing changes until you confirm the preview, and every import is recorded in the audit log."
        </p>
        <FileFormat/>
        <FormError error=form_error(apply.value().into())/>
        <FormError error=form_error(discard.value().into())/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match import.await {
                    Ok(None) => view! { <UploadForm upload/> }.into_any(),
                    Ok(Some(preview)) => {
                        let busy = matches!(
                            preview.status,
                            ImportStatus::Previewed | ImportStatus::Applying
                        );
                        view! {
                            <ImportView preview apply discard finished/>
                            {(!busy).then(|| view! { <UploadForm upload/> })}
                        }
                            .into_any()
                    }
                    Err(e) => {
                        view! {
                            <p class="banner error">{e.to_string()}</p>
                            <UploadForm upload/>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The columns, the limits and a sample file.
#[component]
fn FileFormat() -> impl IntoView {
    view! {
        <details class="card import-format">
            <summary>"File format"</summary>
            <p>
                "A CSV file (UTF-8) whose first line names the columns "
                <code>{IMPORT_COLUMNS.join(", ")}</code>
                " and optionally "<code>{IMPORT_STATUS_COLUMN}</code>
                ", in any order. Channels are matched by handle: a known handle is updated, a new one is added."
            </p>
            <ul class="small">
                <li><code>"handle"</code>" — 5–32 letters, digits or _, with or without the @."</li>
                <li><code>"topic"</code>" — a topic's slug or name, e.g. crypto or Crypto."</li>
                <li><code>"language"</code>" — an ISO 639-1 code such as en, ru, uk."</li>
                <li>
                    <code>"subscribers"</code>", "<code>"avg_views"</code>
                    " — whole numbers; 12000, 12,000 and 12k are the same."
                </li>
                <li><code>"posts_per_day"</code>" — a number such as 2.5."</li>
                <li><code>"status"</code>" — active (the default) or inactive."</li>
            </ul>
            <p class="small muted">
                {format!(
                    "Up to {} rows and {} MB per file. Bad rows are listed in the preview and skipped.",
                    group_thousands(IMPORT_MAX_ROWS as u64),
                    IMPORT_MAX_BYTES / (1024 * 1024),
                )}
            </p>
            <pre class="import-sample" tabindex="0"><code>{SAMPLE}</code></pre>
        </details>
    }
}

/// Choose a file and ask for its preview. Without the wasm the form posts the file itself
/// and the server redirects to the preview.
#[component]
fn UploadForm(upload: Action<FormData, Result<ImportPreview, AppError>>) -> impl IntoView {
    let result: Signal<_> = upload.value().into();
    let error = Signal::derive(move || {
        result.with(|r| match r {
            Some(Err(AppError::Invalid(fields))) => fields
                .get("file")
                .or_else(|| fields.get("form"))
                .map(str::to_owned),
            Some(Err(other)) => Some(other.to_string()),
            _ => None,
        })
    });
    let pending = upload.pending();
    let on_submit = move |ev: SubmitEvent| {
        let form = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
            .and_then(|form| FormData::new_with_form(&form).ok());
        if let Some(data) = form {
            ev.prevent_default();
            upload.dispatch_local(data);
        }
    };
    view! {
        <form
            class="card import-upload"
            method="post"
            enctype="multipart/form-data"
            action=UploadCatalog::url()
            on:submit=on_submit
        >
            <div class="field" class:invalid=move || error.get().is_some()>
                <label for="import-file">"CSV file"</label>
                <input
                    id="import-file"
                    type="file"
                    name=FILE_FIELD
                    accept=".csv,text/csv"
                    required
                    aria-invalid=move || error.get().is_some().then_some("true")
                    aria-describedby="import-file-error"
                />
                <p class="field-error" id="import-file-error" role="alert">{move || error.get()}</p>
            </div>
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Reading the file…" } else { "Preview" }}
            </button>
        </form>
    }
}

/// One import: its preview with the confirm and discard buttons, its progress, or its result.
#[component]
fn ImportView(
    preview: ImportPreview,
    apply: ServerAction<ApplyImport>,
    discard: ServerAction<DiscardImport>,
    finished: RwSignal<u32>,
) -> impl IntoView {
    let id = preview.id;
    let writes = preview.new_rows + preview.changed_rows;
    let has_bad = preview.bad_rows > 0;
    let heading = match preview.status {
        ImportStatus::Previewed => format!("Preview of {}", preview.file_name),
        ImportStatus::Applying => format!("Importing {}", preview.file_name),
        ImportStatus::Applied => format!("Imported {}", preview.file_name),
        ImportStatus::Failed => format!("Import of {} failed", preview.file_name),
        ImportStatus::Discarded => format!("{} was discarded", preview.file_name),
    };
    let basis = if preview.status == ImportStatus::Applied {
        "Rows as applied (compared with the catalog at the time of import)."
    } else {
        "Rows compared with the catalog as it was when the file was read."
    };
    let actions = match preview.status {
        ImportStatus::Previewed => view! {
            <div class="toolbar import-actions">
                {(writes > 0).then(|| view! {
                    <ActionForm action=apply attr:class="inline">
                        <input type="hidden" name="id" value=id.0/>
                        <button type="submit" class="primary" disabled=move || apply.pending().get()>
                            {format!("Import {}", rows(writes))}
                        </button>
                    </ActionForm>
                })}
                <ActionForm action=discard attr:class="inline">
                    <input type="hidden" name="id" value=id.0/>
                    <button type="submit" disabled=move || discard.pending().get()>"Discard"</button>
                </ActionForm>
            </div>
            {(writes == 0).then(|| view! {
                <p class="muted">"Nothing to import: every good row already matches the catalog."</p>
            })}
        }
        .into_any(),
        ImportStatus::Applying => view! { <ApplyProgress id finished/> }.into_any(),
        ImportStatus::Applied => view! {
            <p class="banner success" role="status">
                {format!(
                    "Done: {} added and {} updated.",
                    channels(preview.new_rows),
                    group_thousands(preview.changed_rows)
                )}
            </p>
        }
        .into_any(),
        ImportStatus::Failed | ImportStatus::Discarded => {
            let class = if preview.status == ImportStatus::Failed { "banner error" } else { "muted" };
            let text = preview
                .message
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "Nothing was changed.".to_owned());
            view! { <p class=class>{text}</p> }.into_any()
        }
    };
    view! {
        <section class="card import-preview" aria-labelledby="import-heading">
            <h2 id="import-heading">{heading}</h2>
            <dl class="import-counts">
                <div><dt>"New"</dt><dd>{group_thousands(preview.new_rows)}</dd></div>
                <div><dt>"Changed"</dt><dd>{group_thousands(preview.changed_rows)}</dd></div>
                <div><dt>"Unchanged"</dt><dd>{group_thousands(preview.unchanged_rows)}</dd></div>
                <div class:bad=has_bad><dt>"Bad"</dt><dd>{group_thousands(preview.bad_rows)}</dd></div>
            </dl>
            <p class="small muted">
                {format!("{} read. {basis}", rows(preview.total_rows))}
            </p>
            {actions}
        </section>
        <Problems problems=preview.problems bad_rows=preview.bad_rows/>
    }
    .into_any()
}

/// The bad rows with their line and reason (the first ones when there are many).
#[component]
fn Problems(problems: Vec<ImportProblem>, bad_rows: u64) -> impl IntoView {
    if problems.is_empty() {
        return ().into_any();
    }
    let note = (bad_rows > problems.len() as u64).then(|| {
        format!(
            "The first {} of {} bad rows:",
            group_thousands(problems.len() as u64),
            group_thousands(bad_rows)
        )
    });
    view! {
        <section class="import-problems" aria-labelledby="problems-heading">
            <h2 id="problems-heading">"Bad rows (skipped)"</h2>
            {note.map(|n| view! { <p class="muted">{n}</p> })}
            <div class="table-wrap" tabindex="0">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Line"</th>
                            <th scope="col">"Handle"</th>
                            <th scope="col">"Problem"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {problems
                            .into_iter()
                            .map(|p| view! {
                                <tr>
                                    <td class="nowrap">{p.line}</td>
                                    <td>{p.handle.filter(|h| !h.is_empty()).unwrap_or_else(|| "—".into())}</td>
                                    <td>{p.reason}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

/// A progress bar polled every [`POLL_EVERY`] until the import is applied or has failed;
/// then `finished` moves so the page reloads the result. Polls only in the browser (a plain
/// signal, not a resource: the server renders the bar without waiting for it).
#[component]
fn ApplyProgress(id: CatalogImportId, finished: RwSignal<u32>) -> impl IntoView {
    let progress = RwSignal::new(None::<Result<ImportProgress, AppError>>);
    Effect::new(move |_| poll(id, progress, finished));
    view! {
        <div class="import-progress" role="status" aria-live="polite">
            {move || match progress.get() {
                Some(Ok(p)) if p.total > 0 => {
                    let label = format!("{} of {} rows", group_thousands(p.done), group_thousands(p.total));
                    view! {
                        <progress max=p.total value=p.done aria-label="Rows written">{label.clone()}</progress>
                        <p class="small">{label}</p>
                    }
                        .into_any()
                }
                Some(Err(e)) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                _ => view! {
                    <progress aria-label="Rows written"></progress>
                    <p class="small muted">"Comparing the file with the catalog…"</p>
                }
                    .into_any(),
            }}
        </div>
    }
}

/// Asks once, then again after [`POLL_EVERY`] while the import runs and the bar is shown.
fn poll(
    id: CatalogImportId,
    progress: RwSignal<Option<Result<ImportProgress, AppError>>>,
    finished: RwSignal<u32>,
) {
    leptos::task::spawn_local(async move {
        let answer = poll_import(id).await;
        let running = matches!(&answer, Ok(p) if !p.status.is_final());
        let over = matches!(&answer, Ok(p) if p.status.is_final());
        if progress.try_set(Some(answer)).is_some() {
            return; // the bar is gone
        }
        if over {
            finished.try_update(|n| *n += 1);
        } else if running {
            set_timeout(move || poll(id, progress, finished), POLL_EVERY);
        }
    });
}
