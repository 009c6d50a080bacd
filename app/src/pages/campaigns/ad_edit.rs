//! The ad editor: the form on the left with a live character counter and the pre-checks as
//! you type; the sponsored message as readers will see it on the right, with the ad's version
//! history. Saving and sending for review are plain forms, so they work before the wasm loads.

use crate::{
    api::{
        ads::{PauseAd, SaveAd, SubmitAd, load_ad_editor},
        moderation::AppealDecision,
    },
    components::{AdPreview, CharCounter, Findings, FormError, field_error, form_error},
    error::AppError,
    model::{
        AD_TEXT_MAX, AD_TITLE_MAX, AdDetails, AdEditorData, AdId, AdInput, AdVersionStatus,
        BUTTON_LABEL_MAX, CampaignId, precheck,
    },
    pages::{
        campaigns::decisions::Decisions, served_mark, suspend_once, typed_before_hydration, utc,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The ad form's id (its fields are read before hydration, see `Typed`).
const AD_FORM_ID: &str = "ad-form";

#[component]
pub fn AdEditorPage() -> impl IntoView {
    let params = use_params_map();
    let save = ServerAction::<SaveAd>::new();
    let submit = ServerAction::<SubmitAd>::new();
    let pause = ServerAction::<PauseAd>::new();
    let appeal = ServerAction::<AppealDecision>::new();
    // Reload after a success only: a refused save must keep what was typed.
    let done = RwSignal::new(0u64);
    // A success also clears the other form's last answer, so no stale message stays.
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            submit.value().set(None);
            done.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(submit.value().get(), Some(Ok(()))) {
            save.value().set(None);
            done.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(pause.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(appeal.value().get(), Some(Ok(()))) {
            done.update(|n| *n += 1);
        }
    });
    let data = Resource::new(
        move || (params.with(|p| (p.get("id"), p.get("ad"))), done.get()),
        |((campaign, ad), _)| async move {
            let campaign = campaign
                .and_then(|c| c.parse::<CampaignId>().ok())
                .ok_or(AppError::NotFound)?;
            let ad = match ad {
                None => None,
                Some(raw) => Some(raw.parse::<AdId>().map_err(|_| AppError::NotFound)?),
            };
            load_ad_editor(campaign, ad).await
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the ad…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(data) => view! { <Editor data save submit pause appeal/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Ad"/>
                        <h1>"Ad"</h1>
                        <p class="banner error">{e.to_string()}</p>
                        <a href="/campaigns">"Back to campaigns"</a>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Editor(
    data: AdEditorData,
    save: ServerAction<SaveAd>,
    submit: ServerAction<SubmitAd>,
    pause: ServerAction<PauseAd>,
    appeal: ServerAction<AppealDecision>,
) -> impl IntoView {
    let AdEditorData {
        campaign,
        ad,
        decisions,
        can_edit,
    } = data;
    let editable = can_edit && campaign.status.is_editable();
    let start: AdInput = ad.as_ref().map(AdDetails::input).unwrap_or_default();
    let title = RwSignal::new(start.title.clone());
    let text = RwSignal::new(start.text.clone());
    let button = RwSignal::new(start.button_label.clone());
    let url = RwSignal::new(start.destination_url.clone());
    // What the visitor typed before the page hydrated (see `Typed`): the preview, the
    // pre-checks and "Send for review" (only for a saved form) follow the fields as shown.
    if let Some(typed) = typed_before_hydration(AD_FORM_ID) {
        Effect::new(move |_| {
            typed.take("input[title]", title);
            typed.take("input[text]", text);
            typed.take("input[button_label]", button);
            typed.take("input[destination_url]", url);
        });
    }
    let current = move || AdInput {
        title: title.get(),
        text: text.get(),
        button_label: button.get(),
        destination_url: url.get(),
    };
    let saved_input = start.clone();
    let dirty = Memo::new(move |_| current() != saved_input);
    let copy = Signal::derive(move || current().copy());
    let findings = Signal::derive(move || precheck(&copy.get()));
    let result: Signal<_> = save.value().into();
    let submit_result: Signal<_> = submit.value().into();
    let query = use_query_map();
    // Tracked: saving an existing ad only adds `?saved=1` to the URL, which may arrive after
    // the editor has already been rebuilt from the reloaded ad.
    let just_saved = move || query.with(|q| q.get("saved").is_some());

    let latest = ad.as_ref().and_then(|a| a.latest().cloned());
    let latest_status = latest.as_ref().map(|v| v.status);
    let save_label = match latest.as_ref() {
        None => "Save draft".to_owned(),
        Some(v) if v.status == AdVersionStatus::Draft => "Save draft".to_owned(),
        Some(v) => format!("Save as version {}", v.number + 1),
    };
    let ad_id = ad.as_ref().map(|a| a.id);
    let heading = ad
        .as_ref()
        .map_or_else(|| "New ad".to_owned(), |a| a.title.clone());
    let campaign_href = format!("/campaigns/{}", campaign.id);
    let note = match (latest_status, ad.as_ref().and_then(|a| a.live_version)) {
        (Some(AdVersionStatus::InReview), Some(n)) => Some(format!("The edit is in review; version {n} keeps serving until it is approved.")),
        (Some(AdVersionStatus::InReview), None) => Some("This version is in review. Editing it makes a new version and withdraws this one when you send it.".to_owned()),
        (Some(AdVersionStatus::Approved), _) => Some("This version is approved and frozen: saving an edit makes a new version, which needs review; the approved one keeps serving meanwhile.".to_owned()),
        (Some(AdVersionStatus::Declined), _) => Some("This version was declined for the reasons below. Edit it and send the new version for review, or appeal the decision once.".to_owned()),
        _ => None,
    };
    let can_send =
        move || editable && !dirty.get() && latest_status == Some(AdVersionStatus::Draft);
    let paused = ad.as_ref().is_some_and(|a| a.paused);
    // Pausing matters to an ad that serves (an approved version); a paused one can resume.
    let can_pause = paused || ad.as_ref().is_some_and(|a| a.live_version.is_some());
    view! {
        <Title text=heading.clone()/>
        <div class="page-head">
            <div>
                <p class="crumbs">
                    <a href="/campaigns">"Campaigns"</a> " / "
                    <a href=campaign_href.clone()>{campaign.name.clone()}</a> " / "
                </p>
                <h1>{heading}</h1>
            </div>
            {ad.as_ref().map(|a| view! { <span class="badge" data-test="ad-state">{a.state_label()}</span> })}
        </div>
        {move || just_saved().then(|| view! { <p class="banner success" role="status">"Saved."</p> })}
        {move || matches!(submit_result.get(), Some(Ok(()))).then(|| view! {
            <p class="banner success" role="status" data-test="sent">"Sent for review."</p>
        })}
        {note.map(|n| view! { <p class="banner info">{n}</p> })}
        {(!editable).then(|| view! { <p class="banner info">"This ad is read-only for you."</p> })}
        <Decisions decisions can_appeal=editable appeal/>
        <div class="ad-editor">
            <section class="card">
                <ActionForm action=save attr:id=AD_FORM_ID attr:data-served=served_mark() attr:class="stack" attr:novalidate=true>
                    <FormError error=form_error(result)/>
                    <input type="hidden" name="campaign" value=campaign.id.to_string()/>
                    {ad_id.map(|id| view! { <input type="hidden" name="ad" value=id.to_string()/> })}
                    <div class="field" class:invalid=move || field_error(result, "title").get().is_some()>
                        <label for="ad-title">"Internal title"</label>
                        <input id="ad-title" name="input[title]" maxlength=AD_TITLE_MAX.to_string() value=start.title.clone()
                            placeholder="Only you see this" aria-describedby="ad-title-error"
                            on:input=move |ev| title.set(event_target_value(&ev))/>
                        <p class="field-error" id="ad-title-error" role="alert">{move || field_error(result, "title").get()}</p>
                    </div>
                    <div class="field" class:invalid=move || field_error(result, "text").get().is_some()>
                        <div class="label-row">
                            <label for="ad-text">"Ad text"</label>
                            <CharCounter text=Signal::derive(move || text.get()) id="ad-text-counter"/>
                        </div>
                        <textarea id="ad-text" name="input[text]" rows="4" aria-describedby="ad-text-counter ad-text-error"
                            placeholder=format!("Up to {AD_TEXT_MAX} characters, one paragraph, no line breaks")
                            on:input=move |ev| text.set(event_target_value(&ev))>{start.text.clone()}</textarea>
                        <p class="field-error" id="ad-text-error" role="alert">{move || field_error(result, "text").get()}</p>
                    </div>
                    <div class="field-row">
                        <div class="field" class:invalid=move || field_error(result, "button_label").get().is_some()>
                            <label for="ad-button">"Button label"</label>
                            <input id="ad-button" name="input[button_label]" maxlength=BUTTON_LABEL_MAX.to_string()
                                value=start.button_label.clone() placeholder="e.g. Open" aria-describedby="ad-button-error"
                                on:input=move |ev| button.set(event_target_value(&ev))/>
                            <p class="field-error" id="ad-button-error" role="alert">{move || field_error(result, "button_label").get()}</p>
                        </div>
                        <div class="field grow" class:invalid=move || field_error(result, "destination_url").get().is_some()>
                            <label for="ad-url">"Destination URL"</label>
                            <input id="ad-url" name="input[destination_url]" inputmode="url" value=start.destination_url.clone()
                                placeholder="https://… or t.me/…" aria-describedby="ad-url-error"
                                on:input=move |ev| url.set(event_target_value(&ev))/>
                            <p class="field-error" id="ad-url-error" role="alert">{move || field_error(result, "destination_url").get()}</p>
                        </div>
                    </div>
                    <div class="field">
                        <span class="label">"Pre-checks"</span>
                        <Findings findings/>
                        <p class="hint">"The same checks run on the server when you send the ad for review."</p>
                    </div>
                    {editable.then(|| view! {
                        <div class="actions">
                            <button type="submit" class="primary" id="save-ad" disabled=move || save.pending().get()>{save_label.clone()}</button>
                            {move || dirty.get().then(|| view! { <span class="unsaved">"Unsaved changes"</span> })}
                        </div>
                    })}
                </ActionForm>
                {(editable && ad_id.is_some()).then(|| view! {
                    <div class="send-row">
                        <ActionForm action=submit attr:class="inline">
                            <input type="hidden" name="ad" value=ad_id.map(|a| a.to_string()).unwrap_or_default()/>
                            <button type="submit" id="send-ad" disabled=move || !can_send() || submit.pending().get()>"Send for review"</button>
                        </ActionForm>
                        {can_pause.then(|| view! {
                            <ActionForm action=pause attr:class="inline">
                                <input type="hidden" name="ad" value=ad_id.map(|a| a.to_string()).unwrap_or_default()/>
                                <input type="hidden" name="paused" value=(!paused).to_string()/>
                                <button type="submit" class="ghost">{if paused { "Resume ad" } else { "Pause ad" }}</button>
                            </ActionForm>
                        })}
                        <p class="hint">
                            {move || if dirty.get() { "Save your changes before sending them for review." } else { "Moderators review the newest saved version." }}
                        </p>
                    </div>
                    <FormError error=form_error(submit_result)/>
                    <SubmitFieldErrors result=submit_result/>
                })}
                <p class="back-link"><a href=campaign_href>"← Back to the campaign"</a></p>
            </section>
            <aside class="ad-side">
                <AdPreview copy/>
                {ad.map(|a| view! { <History ad=a/> })}
            </aside>
        </div>
    }
}

/// Pre-check failures the server found when sending (each names its field).
#[component]
fn SubmitFieldErrors(result: Signal<Option<Result<(), AppError>>>) -> impl IntoView {
    move || match result.get() {
        Some(Err(AppError::Invalid(fields))) => Some(view! {
            <ul class="findings server">
                {fields.0.into_iter().filter(|(k, _)| k != "form").map(|(field, message)| view! {
                    <li class="finding"><span class="finding-field">{field.replace('_', " ")}</span>{message}</li>
                }).collect_view()}
            </ul>
        }),
        _ => None,
    }
}

#[component]
fn History(ad: AdDetails) -> impl IntoView {
    let live = ad.live_version;
    view! {
        <section class="card history" aria-labelledby="history-heading">
            <h2 id="history-heading">"Versions"</h2>
            <ol class="versions">
                {ad.versions.into_iter().map(|v| {
                    let serving = live == Some(v.number);
                    view! {
                        <li data-test="version">
                            <div class="version-head">
                                <strong>{format!("Version {}", v.number)}</strong>
                                <span class=format!("badge {}", v.status.tone())>{v.status.label()}</span>
                                {serving.then(|| view! { <span class="badge ok">"Serving"</span> })}
                            </div>
                            <p class="version-text">{v.copy.text}</p>
                            <p class="muted small">
                                {format!("{} → {}", v.copy.button_label, v.copy.destination_url)}
                            </p>
                            <p class="muted small">
                                {format!("Written {}", utc(v.created_at))}
                                {v.submitted_at.map(|at| format!(" · sent {}", utc(at)))}
                                {v.decided_at.map(|at| format!(" · decided {}", utc(at)))}
                            </p>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}
