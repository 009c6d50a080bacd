//! `/reports`: what the current account's money bought, for the account, a campaign or an ad,
//! over a period, broken down by day, campaign, ad, channel, topic or language — every view a
//! URL; the CSV of what is shown; share links of a campaign's report. `/shared/:token`: the
//! read-only report a share link opens, without an account.

mod view;

use crate::{
    api::reports::{CreateShareLink, RevokeShareLink, get_report, share_links, shared_report},
    components::{CopyButton, Field, FormError, field_error, form_error},
    model::{AccountPermission, CampaignId, ReportQuery, Viewer},
    pages::{public::PublicFrame, scroll_here_when_linked, suspend_once},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_params_map, use_query_map},
    params::ParamsMap,
};
use view::ReportView;

fn query_of(q: &ParamsMap) -> ReportQuery {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
    ReportQuery {
        campaign: get("campaign"),
        ad: get("ad"),
        range: get("range"),
        from: get("from"),
        to: get("to"),
        by: get("by"),
        page: get("page"),
    }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(query_of));
    let data = Resource::new(move || query.get(), get_report);
    let can_share = use_context::<Viewer>()
        .and_then(|v| v.current_membership().map(|m| m.role))
        .is_some_and(|role| role.allows(AccountPermission::EditCampaigns));
    // The share panel's actions and list live here, outside the report's suspense, so that the
    // server and the browser create their resources in the same order.
    let create = ServerAction::<CreateShareLink>::new();
    let revoke = ServerAction::<RevokeShareLink>::new();
    let links = Resource::new(
        move || {
            let campaign = query
                .get()
                .campaign
                .and_then(|c| c.parse::<i64>().ok())
                .filter(|_| can_share);
            (campaign, create.version().get(), revoke.version().get())
        },
        |(campaign, _, _)| async move {
            match campaign {
                Some(id) => share_links(CampaignId(id)).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let share = ShareState {
        create,
        revoke,
        links,
    };
    view! {
        <Title text="Reports"/>
        <Transition fallback=|| view! { <h1>"Reports"</h1><p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(r) => {
                        let export = format!("/reports/export.csv{}", r.query.to_query_string());
                        // The panel lists the links of the campaign the address names (the
                        // list's resource reads it), so it shows only on that campaign's report.
                        let asked = r.query.campaign.as_deref().and_then(|c| c.parse::<i64>().ok());
                        let campaign = r.campaign.as_ref().map(|(id, _)| *id).filter(|c| Some(c.0) == asked);
                        view! {
                            <h1>"Reports"</h1>
                            <p class="lead" data-test="report-title">{r.title.clone()}</p>
                            <ReportView report=r action="/reports".to_owned() levels=true export=Some(export)/>
                            {campaign.filter(|_| can_share).map(|c| view! { <SharePanel campaign=c share/> })}
                        }
                        .into_any()
                    }
                    Err(e) => view! {
                        <h1>"Reports"</h1>
                        <p class="banner error" role="alert">{e.to_string()}</p>
                        <p><a href="/reports">"Back to this account's report"</a></p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// The share panel's actions and the campaign's active links.
#[derive(Clone, Copy)]
struct ShareState {
    create: ServerAction<CreateShareLink>,
    revoke: ServerAction<RevokeShareLink>,
    links: Resource<Result<Vec<crate::model::ShareLinkView>, crate::error::AppError>>,
}

/// A campaign's share links: create one (its address shown once), see the active ones with
/// when each was last opened, revoke one.
#[component]
fn SharePanel(campaign: CampaignId, share: ShareState) -> impl IntoView {
    let ShareState {
        create,
        revoke,
        links,
    } = share;
    let created: Signal<_> = create.value().into();
    let revoked: Signal<_> = revoke.value().into();
    // The campaign page's "Share report" points here.
    scroll_here_when_linked("share-links");
    // The address as this browser reaches the site (the path alone before hydration).
    let origin = move || {
        #[cfg(feature = "hydrate")]
        if let Ok(origin) = window().location().origin() {
            return origin;
        }
        String::new()
    };
    view! {
        <section class="card" id="share-links" data-test="share-links">
            <h2>"Share this campaign's report"</h2>
            <p class="hint">
                "Anyone with the link sees this campaign's report, read-only, until it expires or is revoked. "
                "Nothing else of the account is shown. A link also ends when the member who made it leaves "
                "the account or may no longer edit campaigns."
            </p>
            <ActionForm action=create attr:class="toolbar share-form" attr:novalidate=true>
                <input type="hidden" name="input[campaign]" value=campaign.0.to_string()/>
                <Field id="share-label" name="input[label]" label="Who is it for" required=true
                    hint="e.g. “Client: Acme marketing”" error=field_error(created, "label")/>
                <Field id="share-days" name="input[days]" label="Expires after (days)" kind="number"
                    value="30" required=true error=field_error(created, "days")/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create share link"</button>
            </ActionForm>
            <FormError error=form_error(created)/>
            {move || created.get().and_then(Result::ok).map(|link| {
                let url = format!("{}{}", origin(), link.url);
                view! {
                    <div class="banner success" role="status">
                        <p>{format!("Link created; it expires {}. Copy it now: it is shown only this once.", link.expires_at)}</p>
                        <code class="secret" data-test="new-share-link">{url.clone()}</code>
                        <a href=link.url.clone() target="_blank" rel="noopener">"Open it"</a>
                    </div>
                    // Outside the banner's live region, whose text it would otherwise re-read.
                    <CopyButton text=url.clone() what="share link"/>
                }
            })}
            <FormError error=form_error(revoked)/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || suspend_once(async move {
                    match links.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No active links."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap" tabindex="0">
                                <table class="data" aria-label="Active share links">
                                    <thead><tr>
                                        <th scope="col">"For"</th><th scope="col">"Link starts"</th>
                                        <th scope="col">"Created"</th><th scope="col">"Expires"</th>
                                        <th scope="col">"Last opened"</th><th scope="col"><span class="visually-hidden">"Revoke"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|l| {
                                            let label = format!("Revoke the link for {}", l.label);
                                            view! {
                                                <tr data-test="share-link">
                                                    <td>{l.label}</td>
                                                    <td><code>{format!("{}…", l.prefix)}</code></td>
                                                    <td>{format!("{} by {}", l.created_at, l.created_by)}</td>
                                                    <td>{l.expires_at}</td>
                                                    <td>{l.last_used_at.unwrap_or_else(|| "Never".to_owned())}</td>
                                                    <td>
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="id" value=l.id.to_string()/>
                                                            <button type="submit" class="danger small" aria-label=label>"Revoke"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// `/shared/:token`: one campaign's report for whoever holds the link.
#[component]
pub fn SharedReportPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.with(|p| p.get("token").unwrap_or_default()));
    let search = use_query_map();
    let query = Memo::new(move |_| search.with(query_of));
    let data = Resource::new(
        move || (token.get(), query.get()),
        |(token, query)| shared_report(token, query),
    );
    view! {
        <Title text="Shared report"/>
        <PublicFrame>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || suspend_once(async move {
                    match data.await {
                        Ok(r) => {
                            let action = format!("/shared/{}", token.get_untracked());
                            view! {
                                <h1>"Shared report"</h1>
                                <p class="lead" data-test="report-title">{r.title.clone()}</p>
                                <ReportView report=r action levels=false export=None/>
                            }
                            .into_any()
                        }
                        Err(_) => view! {
                            <h1>"This link does not open a report"</h1>
                            <p class="lead">"It may have expired or been revoked. Ask whoever shared it for a new one."</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </PublicFrame>
    }
}
