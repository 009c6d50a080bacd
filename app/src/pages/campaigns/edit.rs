//! The campaign builder: name on top; targeting, bid and budgets on the left with the live
//! forecast on the right (the targeting workspace, reused); dates and the hour schedule under
//! the bid; the campaign's ads below. Saves as a draft at any point; sends the ads to review;
//! pauses, resumes, archives and clones.

use super::{
    ads::AdsSection,
    budget::{BudgetCard, SCHEDULED_ID},
    decisions::Decisions,
};
use crate::{
    api::{
        campaigns::{
            change_campaign_status, clone_campaign, load_builder, save_campaign, submit_campaign,
        },
        moderation::AppealDecision,
    },
    error::{AppError, FieldErrors},
    model::{
        CampaignAction, CampaignBuilderData, CampaignForm, CampaignId, CampaignStatus,
        DeliveryState, Schedule, TargetingForm, urlencode,
    },
    pages::{
        suspend_once,
        targeting::{FORM_ID, TargetingWorkspace},
        typed_before_hydration, utc,
    },
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

#[component]
pub fn CampaignBuilderPage() -> impl IntoView {
    let params = use_params_map();
    // An appeal changes what the page shows about the targeting's review: load it again.
    let appeal = ServerAction::<AppealDecision>::new();
    let appealed = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(appeal.value().get(), Some(Ok(()))) {
            appealed.update(|n| *n += 1);
        }
    });
    // A form in the address is the builder's plain submission (before the wasm loaded): shown
    // instead of the stored one.
    let query = use_query_map();
    let data = Resource::new(
        move || (params.with(|p| p.get("id")), appealed.get()),
        move |(id, _)| {
            let address = query.with_untracked(|q| {
                q.into_iter()
                    .map(|(k, v)| format!("{}={}", urlencode(k.as_ref()), urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            });
            async move {
                match id {
                    None => load_builder(None, address).await,
                    Some(raw) => match raw.parse::<CampaignId>() {
                        Ok(id) => load_builder(Some(id), address).await,
                        Err(_) => Err(AppError::NotFound),
                    },
                }
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the campaign…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(data) => view! { <Builder data appeal/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Campaign"/>
                        <h1>"Campaign"</h1>
                        <p class="banner error">{e.to_string()}</p>
                        <a href="/campaigns">"Back to campaigns"</a>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// What "Save & send for review" did, having sent `n` ads (none: only a targeting change
/// went to review) — the same words after the hydrated save and after the plain form's.
fn sent_message(n: u64) -> String {
    match n {
        0 => "Saved. The targeting change waits for review; the approved targeting keeps serving."
            .to_owned(),
        n => format!(
            "Saved and sent {n} ad{} for review. A moderator will look at it soon.",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// Fields of the targeting form that are part of what a campaign saves (not the list's sort
/// or page).
fn comparable(form: &TargetingForm) -> TargetingForm {
    TargetingForm {
        sort: Default::default(),
        page: 0,
        ..form.clone()
    }
}

#[component]
fn Builder(data: CampaignBuilderData, appeal: ServerAction<AppealDecision>) -> impl IntoView {
    let CampaignBuilderData {
        account,
        campaign,
        form,
        targeting,
        limits,
        currency,
        time_zone,
        now_local,
        ads,
        targeting_decisions,
        can_edit,
        posted,
    } = data;
    let id = campaign.as_ref().map(|c| c.id);
    let status = RwSignal::new(campaign.as_ref().map(|c| c.status));
    // What the page starts from: the form its address carried, else the stored one.
    let (shown, find, posted_errors, failure) = match posted {
        Some(p) => (p.form, p.find, p.errors, p.failure),
        None => (form.clone(), String::new(), FieldErrors::default(), None),
    };
    let name = RwSignal::new(shown.name.clone());
    let total = RwSignal::new(shown.total_budget.clone());
    let start = RwSignal::new(shown.start.clone());
    let end = RwSignal::new(shown.end.clone());
    let schedule = RwSignal::new(shown.schedule);
    let targeting_form = RwSignal::new(shown.targeting.clone());
    let saved = RwSignal::new(CampaignForm {
        targeting: comparable(&form.targeting),
        ..form.clone()
    });
    let banner = RwSignal::new(failure.map(|message| (false, message)).or_else(|| {
        (!posted_errors.is_empty())
            .then(|| (false, "Please correct the highlighted fields.".into()))
    }));
    let errors = RwSignal::new(posted_errors);
    let busy = RwSignal::new(false);
    let ads_version = RwSignal::new(0u64);
    // What a plain save (before the wasm loaded) did, from the address it redirected to.
    let query = use_query_map();
    let done = query.with_untracked(|q| {
        if q.get("created").is_some() {
            Some("Draft saved. Now write its ads, then send the campaign for review.".to_owned())
        } else if let Some(why) = q.get("unsent") {
            Some(if why == "ads" {
                "Saved, but nothing was sent for review: the campaign needs at least one ad, each one complete (see Ads below).".to_owned()
            } else {
                "Saved, but the campaign cannot be sent for review as it stands (an ended or archived campaign is not reviewed again).".to_owned()
            })
        } else if let Some(n) = q.get("sent").and_then(|n| n.parse::<u64>().ok()) {
            Some(sent_message(n))
        } else if q.get("saved").is_some() {
            Some("Saved.".to_owned())
        } else {
            None
        }
    });
    if let Some(message) = done.filter(|_| banner.with_untracked(Option::is_none)) {
        banner.try_set(Some((true, message)));
    }

    let current = move || CampaignForm {
        name: name.get(),
        targeting: comparable(&targeting_form.get()),
        total_budget: total.get(),
        start: start.get(),
        end: end.get(),
        schedule: schedule.get(),
    };
    let dirty = move || current() != saved.get();
    let editable = move || can_edit && status.get().is_none_or(CampaignStatus::is_editable);
    let started = move || {
        matches!(
            status.get(),
            Some(CampaignStatus::Running | CampaignStatus::Paused)
        )
    };

    // An edit clears the message of the field it changes (the rest stay until fixed).
    Effect::new(move |previous: Option<TargetingForm>| {
        let now = targeting_form.get();
        if let Some(before) = previous {
            let mut changed = Vec::new();
            if before.topics != now.topics {
                changed.push("topics");
            }
            if before.languages != now.languages {
                changed.push("languages");
            }
            for (field, a, b) in [
                (
                    "min_subscribers",
                    &before.min_subscribers,
                    &now.min_subscribers,
                ),
                (
                    "max_subscribers",
                    &before.max_subscribers,
                    &now.max_subscribers,
                ),
                ("min_avg_views", &before.min_avg_views, &now.min_avg_views),
                ("bid", &before.bid, &now.bid),
                ("daily_budget", &before.daily_budget, &now.daily_budget),
            ] {
                if a != b {
                    changed.push(field);
                }
            }
            if before.include != now.include || before.exclude != now.exclude {
                changed.extend(["include", "exclude"]);
            }
            if !changed.is_empty() && errors.with_untracked(|e| !e.is_empty()) {
                errors.update(|e| e.0.retain(|k, _| !changed.contains(&k.as_str())));
            }
        }
        now
    });
    let clear = move |field: &'static str| {
        if errors.with_untracked(|e| e.get(field).is_some()) {
            errors.update(|e| {
                e.0.remove(field);
            });
        }
    };

    // What the visitor typed before the page hydrated (see `Typed`), taken once the page has
    // hydrated (the targeting workspace takes its own fields the same way), clearing the
    // message of each field it changes as an edit does. A disabled field (a started
    // campaign's start) is not in the form's data: it keeps its value.
    if let Some(typed) = typed_before_hydration(FORM_ID) {
        Effect::new(move |_| {
            for (key, signal) in [
                ("name", name),
                ("total_budget", total),
                ("start", start),
                ("end", end),
            ] {
                if typed.take(key, signal) {
                    clear(key);
                }
            }
            let scheduled = typed.ticked.iter().any(|id| id == SCHEDULED_ID);
            if scheduled != schedule.with_untracked(Option::is_some) {
                schedule.set(scheduled.then(Schedule::always));
                clear("schedule");
            }
        });
    }
    let navigate = use_navigate();
    let save = {
        let navigate = navigate.clone();
        let currency = currency.clone();
        move |then_submit: bool| {
            banner.try_set(None);
            let form = current();
            // The same checks as the server's, at once and without a round trip; the server
            // checks again (and adds what needs the database).
            let checked = CampaignForm {
                start: if started() {
                    String::new()
                } else {
                    form.start.clone()
                },
                ..form.clone()
            }
            .check(now_local, limits, &currency);
            if let Err(fields) = checked {
                errors.try_set(fields);
                banner.try_set(Some((
                    false,
                    "Please correct the highlighted fields.".into(),
                )));
                return;
            }
            busy.try_set(true);
            let navigate = navigate.clone();
            spawn_local(async move {
                match save_campaign(account, id, form.clone()).await {
                    Ok(outcome) => {
                        errors.try_set(FieldErrors::default());
                        saved.try_set(form);
                        if id.is_none() {
                            navigate(
                                &format!("/campaigns/{}?created=1", outcome.id),
                                Default::default(),
                            );
                        } else if then_submit {
                            match submit_campaign(outcome.id).await {
                                Ok(n) => {
                                    banner.try_set(Some((true, sent_message(n))));
                                }
                                Err(AppError::Invalid(fields)) => {
                                    let message =
                                        fields.0.values().next().cloned().unwrap_or_else(|| {
                                            "Please correct the highlighted fields.".into()
                                        });
                                    errors.try_set(fields);
                                    banner.try_set(Some((false, message)));
                                }
                                Err(e) => {
                                    banner.try_set(Some((false, e.to_string())));
                                }
                            }
                            ads_version.try_update(|v| *v += 1);
                        } else if outcome.targeting_in_review {
                            banner.try_set(Some((true, "Saved. Money, dates and schedule apply now; the new targeting waits for review while the approved targeting keeps serving.".into())));
                        } else {
                            banner.try_set(Some((true, "Saved.".into())));
                        }
                    }
                    Err(AppError::Invalid(fields)) => {
                        errors.try_set(fields);
                        banner.try_set(Some((
                            false,
                            "Please correct the highlighted fields.".into(),
                        )));
                    }
                    Err(e) => {
                        banner.try_set(Some((false, e.to_string())));
                    }
                }
                // The builder may be gone (a navigation): then there is nothing to update.
                busy.try_set(false);
            });
        }
    };
    let act = move |action: CampaignAction| {
        move |_| {
            let Some(id) = id else { return };
            busy.try_set(true);
            spawn_local(async move {
                match change_campaign_status(id, action).await {
                    Ok(next) => {
                        status.try_set(Some(next));
                        banner.try_set(Some((
                            true,
                            format!("The campaign is now {}.", next.label().to_lowercase()),
                        )));
                    }
                    Err(e) => {
                        banner.try_set(Some((false, e.to_string())));
                    }
                }
                // The builder may be gone (a navigation): then there is nothing to update.
                busy.try_set(false);
            });
        }
    };
    let clone = move |_| {
        let Some(id) = id else { return };
        busy.try_set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match clone_campaign(id).await {
                Ok(copy) => navigate(&format!("/campaigns/{copy}"), Default::default()),
                Err(e) => {
                    banner.try_set(Some((false, e.to_string())));
                }
            }
            // The builder may be gone (a navigation): then there is nothing to update.
            busy.try_set(false);
        });
    };

    let error = move |field: &'static str| move || errors.with(|e| e.get(field).map(str::to_owned));
    let title = if form.name.is_empty() {
        "New campaign".to_owned()
    } else {
        form.name.clone()
    };
    let options = targeting.options;
    let forecast = targeting.forecast;
    let info = campaign.clone();
    let ads_currency = currency.clone();
    let save_draft = save.clone();
    let save_submit = save;
    view! {
        <Title text=title.clone()/>
        <div class="page-head">
            <div>
                <p class="crumbs"><a href="/campaigns">"Campaigns"</a> " / "</p>
                <h1>{title}</h1>
            </div>
            {move || status.get().map(|s| view! {
                <span class=format!("badge status-{}", s.code()) data-test="campaign-status">{s.label()}</span>
            })}
        </div>
        {info.as_ref().map(|c| {
            let d = &c.delivery;
            // Paused, resumed or archived on this page: the delivery state loaded with the page
            // no longer holds. Stopped, it is "Not running"; running again, the server decides
            // on the next slot (the page says so rather than guess).
            let (loaded_status, loaded_state) = (c.status, d.state);
            let delivery = move || match status.get() {
                Some(now) if now == loaded_status => (loaded_state.label(), loaded_state.css()),
                Some(CampaignStatus::Running) => ("Running again: reload for its state", "ok"),
                _ => (DeliveryState::NotRunning.label(), DeliveryState::NotRunning.css()),
            };
            view! {
                <p class="muted small">
                    {format!("Created {} · last saved {} · times in {time_zone}", utc(c.created_at), utc(c.updated_at))}
                </p>
                <section class="card delivery-summary" aria-label="Delivery and spend">
                    <div class="stats money-stats">
                        <div class="stat"><span class="stat-label">"Spent"</span><strong class="stat-value" data-test="campaign-spent">{d.spent.display(&currency)}</strong></div>
                        <div class="stat"><span class="stat-label">"Held for won slots"</span><strong class="stat-value">{d.held.display(&currency)}</strong></div>
                        <div class="stat"><span class="stat-label">"Budget left"</span><strong class="stat-value">{d.budget_left.display(&currency)}</strong></div>
                        <div class="stat"><span class="stat-label">"Delivery"</span><strong class="stat-value"><span class=move || format!("badge {}", delivery().1) data-test="delivery-state">{move || delivery().0}</span></strong></div>
                    </div>
                    {(d.state == DeliveryState::Delivering).then(|| view! {
                        <p class="hint" data-test="largest-slot">
                            {format!(
                                "It can still commit {} (the least of the budget left, today's allowance and the balance): at its bid, enough for a slot on a channel averaging up to {} views per post. \
                                 Larger channels are skipped; when no matching channel is that small, it wins no slot until the budget or the balance grows.",
                                d.can_commit.display(&currency),
                                crate::model::group_thousands(d.largest_slot_views.max(0) as u64),
                            )}
                        </p>
                    })}
                    <p class="hint">
                        "Spent is what views were charged against the budget (a correction by finance gives the money back to the balance, not to the budget; reports show spend net of it); held is reserved for slots won and not yet charged (it is released when unused). "
                        "A daily budget is spread over the scheduled hours left in your local day: each hour may use its share of what is left today, so the budget is not gone by morning."
                    </p>
                    <p class="toolbar">
                        <a class="button" href=format!("/reports?campaign={}", c.id) data-test="campaign-report">"View report"</a>
                        // Share links are made by those who edit campaigns (the report's panel).
                        {can_edit.then(|| view! {
                            <a class="button" href=format!("/reports?campaign={}#share-links", c.id)>"Share report"</a>
                        })}
                    </p>
                </section>
            }
        })}
        {info.as_ref().and_then(|c| c.serving_targeting.clone().map(|serving| view! {
            <p class="banner info" role="status">
                {format!(
                    "A targeting change waits for review{}. Until it is approved the campaign keeps serving its approved targeting: {}.",
                    c.pending_since.map(|at| format!(" since {}", utc(at))).unwrap_or_default(),
                    serving.describe(),
                )}
            </p>
        }))}
        {(!can_edit).then(|| view! {
            <p class="banner info">"You can read this campaign; owners and managers change it."</p>
        })}
        <Decisions decisions=targeting_decisions can_appeal=can_edit appeal heading="Targeting reviews"/>
        <section class="card name-card">
            <div class="field" class:invalid=move || errors.with(|e| e.get("name").is_some())>
                <label for="c-name">"Campaign name"</label>
                <input id="c-name" name="name" form=FORM_ID maxlength="80" placeholder="e.g. Winter coffee club"
                    value=name.get_untracked() prop:value=move || name.get() aria-describedby="c-name-error"
                    on:input=move |ev| { name.set(event_target_value(&ev)); clear("name"); }/>
                <p class="field-error" id="c-name-error" role="alert">{error("name")}</p>
            </div>
        </section>
        <TargetingWorkspace
            options
            start=form.targeting.clone()
            forecast
            found=targeting.found
            find
            bind=targeting_form
            extra_errors=Signal::derive(move || errors.get())
            sync_url=false
        >
            <BudgetCard total start end schedule errors limits currency=currency.clone() started=Signal::derive(started) on_clear=Callback::new(clear)/>
            // What the plain form (before the wasm loads) sends besides its fields: that it is
            // the builder's, which account and campaign, and the schedule as it stands.
            <input type="hidden" name="form" value="1"/>
            <input type="hidden" name="account" value=account.0.to_string()/>
            {id.map(|id| view! { <input type="hidden" name="campaign" value=id.to_string()/> })}
            <input type="hidden" name="schedule" value=move || schedule.get().map(|s| s.to_code()).unwrap_or_default()/>
        </TargetingWorkspace>
        {match id {
            Some(id) => view! { <AdsSection campaign=id initial=ads currency=ads_currency can_edit=Signal::derive(editable) reload=ads_version/> }.into_any(),
            None => view! {
                <section class="card">
                    <h2>"Ads"</h2>
                    <p class="muted">"Save the draft first; then write up to 10 ads for it."</p>
                </section>
            }.into_any(),
        }}
        <div class="action-bar" role="region" aria-label="Campaign actions">
            {move || banner.get().map(|(ok, message)| view! {
                <p class=if ok { "banner success" } else { "banner error" } role="status" data-test="builder-banner">{message}</p>
            })}
            <div class="action-row">
                {move || dirty().then(|| view! { <span class="unsaved">"Unsaved changes"</span> })}
                <span class="spacer"></span>
                {move || (editable() && id.is_some() && status.get() == Some(CampaignStatus::Running)).then(|| view! {
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=act(CampaignAction::Pause)>"Pause"</button>
                })}
                {move || (editable() && status.get() == Some(CampaignStatus::Paused)).then(|| view! {
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=act(CampaignAction::Resume)>"Resume"</button>
                })}
                {move || (can_edit && matches!(status.get(), Some(CampaignStatus::Draft | CampaignStatus::Completed))).then(|| view! {
                    <button type="button" class="ghost" disabled=move || busy.get() on:click=act(CampaignAction::Archive)>"Archive"</button>
                })}
                {(can_edit && id.is_some()).then(|| view! {
                    <button type="button" class="ghost" disabled=move || busy.get() on:click=clone.clone()>"Clone"</button>
                })}
                {move || editable().then(|| {
                    let save_draft = save_draft.clone();
                    view! {
                        <button type="submit" id="save-campaign" form=FORM_ID formmethod="post" formaction="/campaigns/save"
                            name="then" value="draft" disabled=move || busy.get()
                            on:click=move |ev| { ev.prevent_default(); save_draft(false); }>
                            {if status.get().is_none_or(|s| s == CampaignStatus::Draft) { "Save draft" } else { "Save changes" }}
                        </button>
                    }
                })}
                {move || (editable() && id.is_some()).then(|| {
                    let save_submit = save_submit.clone();
                    view! {
                        <button type="submit" class="primary" id="submit-campaign" form=FORM_ID formmethod="post" formaction="/campaigns/save"
                            name="then" value="submit" disabled=move || busy.get()
                            on:click=move |ev| { ev.prevent_default(); save_submit(true); }>
                            "Save & send for review"
                        </button>
                    }
                })}
            </div>
            <p class="field-error" role="alert">{error("ads")}</p>
        </div>
    }
    .into_any()
}
