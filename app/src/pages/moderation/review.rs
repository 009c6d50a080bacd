//! The review screen: loading it claims nothing; after hydration the page claims the item
//! for 15 minutes (a POST), and without the wasm a "Claim" button does. The message preview
//! and its destination, the pre-check findings, the diff against the last approved version,
//! the targeting with its forecast, the account's history — and the decision form.

use crate::{
    api::moderation::{ClaimReview, DecideReview, NextReview, ReleaseReview, open_review},
    components::{AdPreview, DecisionCard, FormError, WordDiff, form_error},
    error::{AppError, FieldErrors},
    model::{
        AdUnderReview, DecisionInput, NOTE_MAX, ReviewField, ReviewScreen, ReviewTaskId, TaskState,
        format_duration, group_thousands,
    },
    pages::{served_mark, suspend_once, typed_before_hydration, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// The decision form's id (what is filled in before hydration is read from it, see `Typed`).
const DECISION_FORM_ID: &str = "decision-form";

#[component]
pub fn ReviewPage() -> impl IntoView {
    let params = use_params_map();
    let decide = ServerAction::<DecideReview>::new();
    let release = ServerAction::<ReleaseReview>::new();
    let claim = ServerAction::<ClaimReview>::new();
    // Reload once a decision is recorded, to show it (a refused one keeps the form as typed),
    // and once the item is claimed, to show the decision form.
    let decided = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(decide.value().get(), Some(Ok(()))) {
            decided.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(claim.value().get(), Some(Ok(_))) {
            decided.update(|n| *n += 1);
        }
    });
    let screen = Resource::new(
        move || (params.with(|p| p.get("task")), decided.get()),
        |(task, _)| async move {
            let task = task
                .and_then(|t| t.parse::<ReviewTaskId>().ok())
                .ok_or(AppError::NotFound)?;
            open_review(task).await
        },
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(release.value().get(), Some(Ok(()))) {
            navigate("/moderation", Default::default());
        }
    });
    view! {
        <Title text="Review"/>
        <Suspense fallback=|| view! { <p class="muted">"Opening the item…"</p> }>
            {move || suspend_once(async move {
                match screen.await {
                    Ok(screen) => view! { <Review screen decide release claim/> }.into_any(),
                    Err(e) => view! {
                        <h1>"Review"</h1>
                        <p class="banner error" data-test="review-error">{e.to_string()}</p>
                        <a href="/moderation">"Back to the queue"</a>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Review(
    screen: ReviewScreen,
    decide: ServerAction<DecideReview>,
    release: ServerAction<ReleaseReview>,
    claim: ServerAction<ClaimReview>,
) -> impl IntoView {
    let task = screen.task;
    let unclaimed = screen.state == TaskState::Open && screen.claimed_until.is_none();
    // Effects run only in the browser: the server's render of a GET claims nothing, the
    // hydrated page claims the item it opened.
    Effect::new(move |_| {
        if unclaimed {
            claim.dispatch(ClaimReview { task });
        }
    });
    let heading = match &screen.ad {
        Some(ad) => format!("Ad “{}”, version {}", ad.title, ad.number),
        None => format!("Targeting change of “{}”", screen.campaign_name),
    };
    let waited = format_duration((screen.now - screen.submitted_at).num_seconds());
    let open = screen.state == TaskState::Open && screen.claimed_until.is_some();
    let forecast = screen.forecast.clone().map(|f| {
        format!(
            "{} channels · {} subscribers · {} sponsored views a day available",
            group_thousands(f.channels),
            group_thousands(f.subscribers.unsigned_abs()),
            group_thousands(f.daily_views.unsigned_abs()),
        )
    });
    let is_ad = screen.ad.is_some();
    view! {
        <div class="page-head">
            <div>
                <p class="crumbs"><a href="/moderation">"Review queue"</a> " / "</p>
                <h1>{heading}</h1>
            </div>
            <div class="head-badges">
                {screen.appeal.is_some().then(|| view! { <span class="badge warn">"Appeal"</span> })}
                <span class="badge muted">
                    {match screen.state {
                        TaskState::Open => format!("Waiting {waited}"),
                        state => state.label().to_owned(),
                    }}
                </span>
            </div>
        </div>
        <p class="muted small">
            {format!("{} · campaign “{}” ({}) · submitted {}", screen.account_name, screen.campaign_name, screen.campaign_status.label(), utc(screen.submitted_at))}
        </p>
        {(screen.state == TaskState::Withdrawn).then(|| view! {
            <p class="banner info">"The advertiser replaced or withdrew this submission: there is nothing left to decide."</p>
        })}
        <div class="review-layout">
            <div class="review-main">
                {screen.appeal.clone().map(|a| view! {
                    <section class="card appeal-brief" aria-labelledby="appeal-heading">
                        <h2 id="appeal-heading">"The advertiser appeals"</h2>
                        <blockquote class="decision-note" data-test="appeal-message">{a.message}</blockquote>
                        <p class="muted small">{format!("Sent {}. The decline being appealed:", utc(a.created_at))}</p>
                        <DecisionCard decision=a.decision/>
                    </section>
                }.into_any())}
                {screen.ad.clone().map(|ad| view! {
                    <section class="card" aria-labelledby="message-heading">
                        <h2 id="message-heading">"Message"</h2>
                        <ReviewedAd ad/>
                    </section>
                }.into_any())}
                {screen.diff.clone().map(|d| view! {
                    <section class="card" aria-labelledby="diff-heading" data-test="diff">
                        <h2 id="diff-heading">
                            {match (d.against_version, d.against_approved) {
                                (Some(n), true) => format!("Changes since approved version {n}"),
                                (Some(n), false) => format!("Changes since declined version {n}"),
                                (None, _) => "Changes to the serving targeting".to_owned(),
                            }}
                        </h2>
                        {is_ad.then(|| view! { <WordDiff parts=d.text.clone()/> })}
                        {d.button_label.clone().map(|(a, b)| view! {
                            <p class="small"><span class="muted">"Button: "</span><del>{a}</del>" → "<ins>{b}</ins></p>
                        })}
                        {d.destination_url.clone().map(|(a, b)| view! {
                            <p class="small"><span class="muted">"Destination: "</span><del>{a}</del>" → "<ins>{b}</ins></p>
                        })}
                        {(!d.targeting.is_empty()).then(|| view! {
                            <table class="targeting-diff">
                                <thead><tr>
                                    <th scope="col">"Field"</th>
                                    <th scope="col">{if is_ad { "Then" } else { "Serving" }}</th>
                                    <th scope="col">{if is_ad { "Now" } else { "Proposed" }}</th>
                                </tr></thead>
                                <tbody>
                                    {d.targeting.into_iter().map(|c| view! {
                                        <tr><th scope="row">{c.field}</th><td><del>{c.before}</del></td><td><ins>{c.after}</ins></td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                    </section>
                }.into_any())}
                <section class="card" aria-labelledby="targeting-heading">
                    <h2 id="targeting-heading">{if is_ad { "Campaign targeting" } else { "Proposed targeting" }}</h2>
                    <p data-test="review-targeting">{screen.targeting.clone()}</p>
                    {forecast.map(|f| view! { <p class="muted small">{f}</p> })}
                </section>
                {(!screen.serving_ads.is_empty()).then(|| view! {
                    <section class="card" aria-labelledby="serving-heading" data-test="serving-ads">
                        <h2 id="serving-heading">"Ads that would serve with it"</h2>
                        <p class="muted small">"These approved messages go to the channels this targeting adds."</p>
                        {screen.serving_ads.clone().into_iter().map(|ad| view! {
                            <h3 class="serving-ad-title">{format!("“{}”, version {}", ad.title, ad.number)}</h3>
                            <ReviewedAd ad/>
                        }).collect_view()}
                    </section>
                }.into_any())}
            </div>
            <aside class="review-side">
                {screen.decided.map(|d| view! {
                    <section class="card" aria-labelledby="decided-heading">
                        <h2 id="decided-heading">"Decision"</h2>
                        <DecisionCard decision=d/>
                        <NextItem appeals=screen.appeal.is_some()/>
                    </section>
                }.into_any())}
                {screen.claimed_until.filter(|_| open).map(|until| view! {
                    <DecisionForm task reasons=screen.reasons.clone() decide release claimed_until=until/>
                }.into_any())}
                {unclaimed.then(|| view! { <ClaimForm task claim/> }.into_any())}
            </aside>
            <section class="card review-history" aria-labelledby="history-heading">
                <h2 id="history-heading">"Account history"</h2>
                {if screen.history.is_empty() {
                    view! { <p class="muted">"No earlier decisions for this account."</p> }.into_any()
                } else {
                    screen.history.into_iter().map(|d| view! { <DecisionCard decision=d/> }).collect_view().into_any()
                }}
            </section>
        </div>
    }
    .into_any()
}

/// A message as the moderator reads it: the preview, its destination, and the automatic
/// pre-check findings.
#[component]
fn ReviewedAd(ad: AdUnderReview) -> impl IntoView {
    let url = ad.copy.destination_url.clone();
    let copy = ad.copy;
    let findings = ad.findings;
    view! {
        <AdPreview copy=Signal::derive(move || copy.clone()) channel="A matching channel"/>
        <p class="destination">
            <span class="muted">"Destination: "</span>
            <a href=url.clone() target="_blank" rel="noopener noreferrer nofollow" data-test="destination">{url.clone()}</a>
        </p>
        <h3>"Pre-checks"</h3>
        {if findings.is_empty() {
            view! { <p class="ok-line">"No automatic findings."</p> }.into_any()
        } else {
            view! {
                <ul class="findings">
                    {findings.into_iter().map(|(field, message)| view! {
                        <li class="finding"><span class="finding-field">{field.replace('_', " ")}</span>{message}</li>
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }}
    }
}

/// Claims the item to decide it: the form for a page without its wasm (the hydrated page
/// claims on load), and the place a refused claim is explained.
#[component]
fn ClaimForm(task: ReviewTaskId, claim: ServerAction<ClaimReview>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="claim-heading" data-test="claim">
            <h2 id="claim-heading">"Claim"</h2>
            <p class="muted small">"Claim the item to decide it: nobody else is offered it for the next 15 minutes."</p>
            <FormError error=form_error(claim.value().into())/>
            <ActionForm action=claim>
                <input type="hidden" name="task" value=task.to_string()/>
                <button type="submit" class="primary" id="claim" disabled=move || claim.pending().get()>"Claim"</button>
            </ActionForm>
        </section>
    }
}

/// A button to the oldest item still waiting in the same queue.
#[component]
fn NextItem(appeals: bool) -> impl IntoView {
    let next = ServerAction::<NextReview>::new();
    let navigate = use_navigate();
    Effect::new(move |_| match next.value().get() {
        Some(Ok(Some(task))) => navigate(&format!("/moderation/{task}"), Default::default()),
        Some(Ok(None)) => navigate("/moderation", Default::default()),
        _ => {}
    });
    view! {
        <button type="button" class="primary" id="next-item"
            on:click=move |_| { next.dispatch(NextReview { appeals }); }>
            "Next item"
        </button>
    }
}

#[component]
fn DecisionForm(
    task: ReviewTaskId,
    reasons: Vec<crate::model::PolicyReason>,
    decide: ServerAction<DecideReview>,
    release: ServerAction<ReleaseReview>,
    /// When the caller's claim ends (an extension moves it on without reloading the form).
    claimed_until: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    let extend = ServerAction::<ClaimReview>::new();
    let until = Signal::derive(move || match extend.value().get() {
        Some(Ok(Some(until))) => until,
        _ => claimed_until,
    });
    let chosen = RwSignal::new(Vec::<String>::new());
    let field = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    // Checked in the browser first (the server checks again): a refusal keeps the form.
    let local = RwSignal::new(FieldErrors::default());
    let result: Signal<_> = decide.value().into();
    let error = move |name: &'static str| {
        move || {
            local.with(|l| l.get(name).map(str::to_owned)).or_else(|| {
                result.with(|r| match r {
                    Some(Err(AppError::Invalid(f))) => f.get(name).map(str::to_owned),
                    _ => None,
                })
            })
        }
    };
    // What the moderator ticked, chose or typed before the page hydrated (see `Typed`; the
    // form needs the wasm to be sent, but not to be filled in): taken once hydrated, so a
    // decision sends what the form shows.
    if let Some(typed) = typed_before_hydration(DECISION_FORM_ID) {
        Effect::new(move |_| {
            let ticked: Vec<String> = typed
                .pairs
                .iter()
                .filter(|(key, _)| key == "reason")
                .map(|(_, code)| code.clone())
                .collect();
            if !ticked.is_empty() {
                chosen.set(ticked);
            }
            typed.take("field", field);
            typed.take("note", note);
        });
    }
    let send = move |approve: bool| {
        let input = DecisionInput {
            approve,
            reasons: if approve {
                Vec::new()
            } else {
                chosen.get_untracked()
            },
            // An approval names no offending field, whatever the select still shows.
            field: if approve {
                String::new()
            } else {
                field.get_untracked()
            },
            note: note.get_untracked(),
        };
        let problems = input.check();
        let ok = problems.is_empty();
        local.set(problems);
        if ok {
            decide.dispatch(DecideReview { task, input });
        }
    };
    view! {
        // A form only so that what is filled in before the wasm can be read (its buttons send
        // it through the server function; it is never submitted).
        <form id=DECISION_FORM_ID data-served=served_mark() class="card decision-form" aria-labelledby="decide-heading"
            on:submit=|ev| ev.prevent_default()>
            <h2 id="decide-heading">"Decide"</h2>
            <p class="muted small claim-status">
                <span data-test="claimed-until">
                    {move || format!("Claimed by you until {} UTC: nobody else is offered it meanwhile.", until.get().format("%H:%M"))}
                </span>
                " "
                <button type="button" class="ghost small" id="extend-claim" disabled=move || extend.pending().get()
                    on:click=move |_| { extend.dispatch(ClaimReview { task }); }>
                    "Extend claim"
                </button>
            </p>
            <FormError error=form_error(extend.value().into())/>
            {move || matches!(extend.value().get(), Some(Ok(None))).then(|| view! {
                <p class="banner info" role="status">
                    "This item was decided or withdrawn meanwhile: there is nothing left to decide. Reload it to see what happened."
                </p>
            })}
            <FormError error=form_error(result)/>
            <fieldset class="field reasons" class:invalid=move || error("reasons")().is_some()>
                <legend>"Policy reasons (for a decline)"</legend>
                <ul class="reason-list">
                    {reasons.into_iter().map(|r| {
                        let code = r.code.clone();
                        let id = format!("reason-{}", r.code);
                        let toggle_code = code.clone();
                        view! {
                            <li>
                                <input type="checkbox" id=id.clone() name="reason" value=code.clone() data-test="reason"
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|x| *x != toggle_code);
                                            if on { c.push(toggle_code.clone()); }
                                        });
                                        local.update(|l| { l.0.remove("reasons"); });
                                    }/>
                                <label for=id>{r.title.clone()}</label>
                                <a class="small" href=format!("/guidelines#{code}") target="_blank" rel="noopener">"guideline"</a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p class="field-error" id="reasons-error" role="alert">{error("reasons")}</p>
            </fieldset>
            <div class="field" class:invalid=move || error("field")().is_some()>
                <label for="decision-field">"Offending field (optional)"</label>
                <select id="decision-field" name="field" on:change=move |ev| field.set(event_target_value(&ev))>
                    <option value="">"—"</option>
                    {ReviewField::ALL.iter().map(|f| view! { <option value=f.code()>{f.label()}</option> }).collect_view()}
                </select>
                <p class="field-error" role="alert">{error("field")}</p>
            </div>
            <div class="field" class:invalid=move || error("note")().is_some()>
                <label for="decision-note">"Note to the advertiser (optional)"</label>
                <textarea id="decision-note" name="note" rows="3" maxlength=NOTE_MAX.to_string()
                    on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                <p class="field-error" role="alert">{error("note")}</p>
            </div>
            <div class="actions decision-actions">
                <button type="button" class="approve" id="approve" disabled=move || decide.pending().get()
                    on:click=move |_| send(true)>"Approve"</button>
                <button type="button" class="danger" id="decline" disabled=move || decide.pending().get()
                    on:click=move |_| send(false)>"Decline"</button>
            </div>
            <button type="button" class="ghost small" id="release"
                on:click=move |_| { release.dispatch(ReleaseReview { task }); }>
                "Put back in the queue"
            </button>
        </form>
    }
}
