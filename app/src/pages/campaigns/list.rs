//! The campaign list: status filter, name search, sort and pages (a GET form, so every view
//! is a URL and works without wasm), with budget, spend and dates per campaign.

use crate::{
    api::campaigns::list_campaigns,
    components::Pager,
    model::{
        AccountPermission, CampaignFilter, CampaignSort, CampaignStatus, LOCAL_FORMAT, Viewer,
    },
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> CampaignFilter {
    CampaignFilter {
        status: q.get("status").unwrap_or_default(),
        search: q.get("q").unwrap_or_default(),
        sort: CampaignSort::from_code(&q.get("sort").unwrap_or_default()),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
    }
}

fn when(at: Option<chrono::NaiveDateTime>, empty: &str) -> String {
    at.map_or_else(
        || empty.to_owned(),
        |at| at.format(LOCAL_FORMAT).to_string().replace('T', " "),
    )
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let campaigns = Resource::new(move || filter.get(), list_campaigns);
    let current = move || filter.get();
    let can_edit = use_context::<Viewer>()
        .and_then(|v| v.current_membership().map(|m| m.role))
        .is_some_and(|role| role.allows(AccountPermission::EditCampaigns));
    view! {
        <Title text="Campaigns"/>
        <div class="page-head">
            <h1>"Campaigns"</h1>
            {can_edit.then(|| view! {
                <a class="button primary" href="/campaigns/new" id="new-campaign">"New campaign"</a>
            })}
        </div>
        <Form method="GET" action="" attr:class="toolbar filters">
            <div class="field">
                <label for="cl-q">"Search"</label>
                <input id="cl-q" type="search" name="q" placeholder="campaign name" value=move || current().search/>
            </div>
            <div class="field">
                <label for="cl-status">"Status"</label>
                <select id="cl-status" name="status">
                    <option value="" selected=move || current().status.is_empty()>"All but archived"</option>
                    {CampaignStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || current().status == s.code()>{s.label()}</option>
                    }).collect_view()}
                    <option value="all" selected=move || current().status == "all">"Everything"</option>
                </select>
            </div>
            <div class="field">
                <label for="cl-sort">"Sort by"</label>
                <select id="cl-sort" name="sort">
                    {CampaignSort::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || current().sort == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit">"Apply"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match campaigns.await {
                    Ok(list) => {
                        let f = filter.get_untracked();
                        let currency = list.currency.clone();
                        let dates = format!("Dates ({})", list.time_zone);
                        let pages = list.page.pages();
                        let empty = list.page.rows.is_empty();
                        let filtered = !f.search.is_empty() || !f.status.is_empty();
                        view! {
                            <div class="table-wrap" tabindex="0">
                                <table class="campaigns compact cards-on-phone">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Campaign"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col" class="num">"Budget"</th>
                                            <th scope="col" class="num">"Spent"</th>
                                            <th scope="col" class="num">"Held"</th>
                                            <th scope="col" class="num">"Budget left"</th>
                                            <th scope="col">"Delivery"</th>
                                            <th scope="col">{dates.clone()}</th>
                                            <th scope="col" class="num">"Ads"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.page.rows.into_iter().map(|c| {
                                            let daily = c.daily_budget.map(|d| format!("{} a day", d.display(&currency)));
                                            view! {
                                                <tr data-test="campaign-row">
                                                    <td>
                                                        <a class="row-title" href=format!("/campaigns/{}", c.id)>{c.name.clone()}</a>
                                                        {c.targeting_pending.then(|| view! { <span class="sub">"Targeting change in review"</span> })}
                                                        <a class="sub" href=format!("/reports?campaign={}", c.id) aria-label=format!("Report of {}", c.name)>"Report"</a>
                                                    </td>
                                                    <td data-label="Status"><span class=if c.in_review && c.status == CampaignStatus::Draft { "badge warn".to_owned() } else { format!("badge status-{}", c.status.code()) }>{c.status_label()}</span></td>
                                                    <td class="num" data-label="Budget">
                                                        {c.total_budget.display(&currency)}
                                                        {daily.map(|d| view! { <span class="sub">{d}</span> })}
                                                    </td>
                                                    <td class="num" data-label="Spent" data-test="spent">{c.spent.display(&currency)}</td>
                                                    <td class="num" data-label="Held">{c.delivery.held.display(&currency)}</td>
                                                    <td class="num" data-label="Budget left">{c.delivery.budget_left.display(&currency)}</td>
                                                    <td data-label="Delivery"><span class=format!("badge {}", c.delivery.state.css()) data-test="delivery-state">{c.delivery.state.label()}</span></td>
                                                    // Two lines where the table is narrow: start, then end.
                                                    <td data-label=dates.clone()>
                                                        <span class="nowrap">{when(c.start, if c.status == CampaignStatus::Draft { "when approved" } else { "on approval" })} " →"</span>
                                                        " "
                                                        <span class="nowrap">{when(c.end, "no end")}</span>
                                                    </td>
                                                    <td class="num" data-label="Ads">{c.ads}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {(empty && !filtered).then(|| view! {
                                <div class="empty-state">
                                    <p>"No campaigns yet. Build one: choose channels, see the forecast, write an ad."</p>
                                    {list.can_edit.then(|| view! {
                                        <a class="button primary" href="/campaigns/new">"Build your first campaign"</a>
                                    })}
                                </div>
                            })}
                            {(empty && filtered).then(|| view! { <p class="muted">"No campaign matches these filters."</p> })}
                            <Pager page=list.page.page pages total=list.page.total href=move |p| f.href(p)/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
