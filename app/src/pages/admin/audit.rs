//! Admin: the audit log, filtered by actor, action and date, newest first.

use crate::{
    api::admin::list_audit,
    components::Pager,
    model::urlencode,
    model::{AuditAction, AuditFilter},
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let text = |key: &str| q.get(key).filter(|v| !v.trim().is_empty());
        AuditFilter {
            actor: text("actor"),
            action: text("action"),
            from: text("from").and_then(|d| d.parse().ok()),
            to: text("to").and_then(|d| d.parse().ok()),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
        }
    });
    let events = Resource::new(move || filter.get(), list_audit);
    let current = move || filter.get();
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <p class="lead">"Who did what, when (UTC). Append-only: entries are never changed or deleted."</p>
        <Form method="GET" action="" attr:class="toolbar filters">
            <div class="field">
                <label for="audit-actor">"Actor email"</label>
                <input id="audit-actor" type="search" name="actor" value=move || current().actor.unwrap_or_default()/>
            </div>
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="">"Any action"</option>
                    {AuditAction::ALL
                        .into_iter()
                        .map(|a| view! {
                            <option value=a.code() selected=move || current().action.as_deref() == Some(a.code())>
                                {a.code()}
                            </option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-from">"From"</label>
                <input id="audit-from" type="date" name="from" value=move || current().from.map(|d| d.to_string()).unwrap_or_default()/>
            </div>
            <div class="field">
                <label for="audit-to">"To"</label>
                <input id="audit-to" type="date" name="to" value=move || current().to.map(|d| d.to_string()).unwrap_or_default()/>
            </div>
            <button type="submit">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match events.await {
                    Ok(list) => {
                        let f = filter.get_untracked();
                        let pages = list.pages();
                        let empty = list.rows.is_empty();
                        view! {
                            <div class="table-wrap" tabindex="0">
                                <table class="audit cards-on-phone">
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Action"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"Address"</th>
                                            <th scope="col">"Detail"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|e| view! {
                                            <tr>
                                                <td class="nowrap">{utc(e.at)}</td>
                                                <td data-label="Actor">{e.actor_email.unwrap_or_else(|| "—".into())}</td>
                                                <td data-label="Action"><code>{e.action}</code></td>
                                                <td data-label="Target"><code>{e.target}</code></td>
                                                <td data-label="Address">{e.ip.unwrap_or_else(|| "—".into())}</td>
                                                <td class="detail" data-label="Detail">{e.detail.unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {empty.then(|| view! { <p class="muted">"No events match these filters."</p> })}
                            <Pager page=list.page pages total=list.total href=move |p| audit_href(&f, p)/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn audit_href(filter: &AuditFilter, page: u64) -> String {
    let mut href = format!("/admin/audit?page={page}");
    for (key, value) in [
        ("actor", filter.actor.clone()),
        ("action", filter.action.clone()),
        ("from", filter.from.map(|d| d.to_string())),
        ("to", filter.to.map(|d| d.to_string())),
    ] {
        if let Some(value) = value {
            href.push_str(&format!("&{key}={}", urlencode(&value)));
        }
    }
    href
}
