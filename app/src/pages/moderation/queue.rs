//! The review queue: waiting items oldest first with their wait, filtered by language and
//! account (a GET form, so every view is a URL); first reviews and appeals are separate tabs.

use crate::{
    api::moderation::review_queue,
    model::{QueueFilter, ReviewKind, format_duration},
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> QueueFilter {
    QueueFilter {
        language: q.get("language").unwrap_or_default(),
        account: q.get("account").unwrap_or_default(),
        appeals: q.get("appeals").is_some_and(|v| v == "1"),
    }
}

#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let queue = Resource::new(move || filter.get(), review_queue);
    view! {
        <Title text="Review queue"/>
        <Transition fallback=|| view! { <p class="muted">"Loading the queue…"</p> }>
            {move || suspend_once(async move {
                let f = filter.get_untracked();
                match queue.await {
                    Ok(view) => {
                        let (firsts, appeals) = if f.appeals {
                            (view.other_queue, view.total)
                        } else {
                            (view.total, view.other_queue)
                        };
                        let next = view.rows.first().map(|r| format!("/moderation/{}", r.id));
                        let empty = view.rows.is_empty();
                        let now = view.now;
                        view! {
                            <div class="page-head">
                                <h1>"Review queue"</h1>
                                {next.map(|href| view! {
                                    <a class="button primary" href=href id="review-next">"Review the oldest"</a>
                                })}
                            </div>
                            <nav class="tabs" aria-label="Queues">
                                <a href="/moderation" aria-current=(!f.appeals).then_some("page")>{format!("First reviews ({firsts})")}</a>
                                <a href="/moderation?appeals=1" aria-current=f.appeals.then_some("page") id="appeals-tab">{format!("Appeals ({appeals})")}</a>
                            </nav>
                            <Form method="GET" action="" attr:class="toolbar filters">
                                {f.appeals.then(|| view! { <input type="hidden" name="appeals" value="1"/> })}
                                <div class="field">
                                    <label for="q-language">"Language"</label>
                                    <select id="q-language" name="language">
                                        <option value="" selected=f.language.is_empty()>"All languages"</option>
                                        {view.languages.iter().map(|(code, name)| view! {
                                            <option value=code.clone() selected=f.language == *code>{format!("{name} ({code})")}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="q-account">"Account"</label>
                                    <select id="q-account" name="account">
                                        <option value="" selected=f.account.is_empty()>"All accounts"</option>
                                        {view.accounts.iter().map(|(id, name)| view! {
                                            <option value=id.to_string() selected=f.account == id.to_string()>{name.clone()}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                                <button type="submit">"Apply"</button>
                            </Form>
                            {(!empty).then(|| view! {
                                <div class="table-wrap" tabindex="0">
                                    <table class="queue cards-on-phone">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Item"</th>
                                                <th scope="col">"Waiting"</th>
                                                <th scope="col">"Account"</th>
                                                <th scope="col">"Campaign"</th>
                                                <th scope="col">"Languages"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {view.rows.into_iter().map(|r| {
                                                let wait = format_duration((now - r.submitted_at).num_seconds());
                                                let kind_class = match r.kind {
                                                    ReviewKind::AdVersion => "badge muted",
                                                    ReviewKind::Targeting => "badge warn",
                                                };
                                                view! {
                                                    <tr data-test="queue-row">
                                                        <td>
                                                            <a class="row-title" href=format!("/moderation/{}", r.id)>{r.subject.clone()}</a>
                                                            <span class=kind_class>{r.kind.label()}</span>
                                                            {r.claimed_by_me.then(|| view! { <span class="badge ok">"Claimed by you"</span> })}
                                                            <span class="sub queue-preview">{r.preview.clone()}</span>
                                                        </td>
                                                        <td class="nowrap" data-label="Waiting">{wait}</td>
                                                        <td data-label="Account">{r.account_name.clone()}</td>
                                                        <td data-label="Campaign">{r.campaign_name.clone()}</td>
                                                        <td data-label="Languages">{if r.languages.is_empty() { "any".to_owned() } else { r.languages.join(", ") }}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <p class="muted small table-note">{format!("{} waiting; items claimed by another moderator are hidden until their 15 minutes end.", view.total)}</p>
                            })}
                            {empty.then(|| view! {
                                <div class="empty-state"><p>"Nothing is waiting here."</p></div>
                            })}
                        }
                        .into_any()
                    }
                    Err(e) => view! {
                        <h1>"Review queue"</h1>
                        <p class="banner error">{e.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}
