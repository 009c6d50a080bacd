//! The channel browser: filter the catalog by topics, languages, size, views and text; sort;
//! page through it. A GET form, so every view has a shareable URL and works without wasm.

use crate::{
    api::catalog::{list_channels, load_targeting_options},
    components::{Pager, compact, count},
    model::{ChannelFilter, ChannelSort, PlatformRole, Viewer, parse_count, urlencode},
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> ChannelFilter {
    let number = |key: &str| q.get(key).and_then(|v| parse_count(&v).ok());
    ChannelFilter {
        topics: q.get_all("topic").unwrap_or_default(),
        languages: q.get_all("lang").unwrap_or_default(),
        min_subscribers: number("min_subs"),
        max_subscribers: number("max_subs"),
        min_avg_views: number("min_views"),
        search: q.get("q").unwrap_or_default(),
        eligible_only: q.get("eligible").is_some_and(|v| v == "1"),
        sort: ChannelSort::from_code(&q.get("sort").unwrap_or_default()),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
    }
}

fn href(filter: &ChannelFilter, page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    pairs.extend(filter.topics.iter().map(|t| ("topic", t.clone())));
    pairs.extend(filter.languages.iter().map(|l| ("lang", l.clone())));
    for (key, value) in [
        ("min_subs", filter.min_subscribers),
        ("max_subs", filter.max_subscribers),
        ("min_views", filter.min_avg_views),
    ] {
        pairs.extend(value.map(|v| (key, v.to_string())));
    }
    if !filter.search.is_empty() {
        pairs.push(("q", filter.search.clone()));
    }
    if filter.eligible_only {
        pairs.push(("eligible", "1".into()));
    }
    pairs.push(("sort", filter.sort.code().into()));
    pairs.push(("page", page.to_string()));
    let query: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", urlencode(&v)))
        .collect();
    format!("/channels?{}", query.join("&"))
}

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let channels = Resource::new(move || filter.get(), list_channels);
    let options = Resource::new(|| (), |_| load_targeting_options());
    let is_admin = use_context::<Viewer>().is_some_and(|v| v.has_staff_role(PlatformRole::Admin));
    let current = move || filter.get();
    let raw = move |key: &'static str| move || query.with(|q| q.get(key).unwrap_or_default());
    view! {
        <Title text="Channels"/>
        <h1>"Channels"</h1>
        <p class="lead">"The public channel catalog. Only eligible channels (active, above the subscriber threshold) can carry ads."</p>
        <Form method="GET" action="" attr:class="card channel-filters">
            <div class="field-row">
                <div class="field grow">
                    <label for="c-q">"Search"</label>
                    <input id="c-q" type="search" name="q" placeholder="handle or title" value=raw("q")/>
                </div>
                <div class="field">
                    <label for="c-min">"Minimum subscribers"</label>
                    <input id="c-min" name="min_subs" inputmode="numeric" placeholder="e.g. 10k" value=raw("min_subs")/>
                </div>
                <div class="field">
                    <label for="c-max">"Maximum subscribers"</label>
                    <input id="c-max" name="max_subs" inputmode="numeric" placeholder="no limit" value=raw("max_subs")/>
                </div>
                <div class="field">
                    <label for="c-views">"Minimum average views"</label>
                    <input id="c-views" name="min_views" inputmode="numeric" placeholder="any" value=raw("min_views")/>
                </div>
                <div class="field">
                    <label for="c-sort">"Sort by"</label>
                    <select id="c-sort" name="sort">
                        {ChannelSort::ALL.into_iter().map(|s| view! {
                            <option value=s.code() selected=move || current().sort == s>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <Suspense fallback=|| ()>
                {move || suspend_once(async move {
                    options.await.ok().map(|o| {
                        let chosen = filter.get_untracked();
                        view! {
                            <details class="choices-drop" open=!chosen.topics.is_empty()>
                                <summary>{format!("Topics ({})", if chosen.topics.is_empty() { "any".to_owned() } else { chosen.topics.len().to_string() })}</summary>
                                <div class="choice-grid">
                                    {o.topics.into_iter().map(|(slug, name, _)| view! {
                                        <label class="choice">
                                            <input type="checkbox" name="topic" value=slug.clone() checked=chosen.topics.contains(&slug)/>
                                            <span>{name}</span>
                                        </label>
                                    }).collect_view()}
                                </div>
                            </details>
                            <details class="choices-drop" open=!chosen.languages.is_empty()>
                                <summary>{format!("Languages ({})", if chosen.languages.is_empty() { "any".to_owned() } else { chosen.languages.len().to_string() })}</summary>
                                <div class="choice-grid">
                                    {o.languages.into_iter().map(|(code, name, _)| view! {
                                        <label class="choice">
                                            <input type="checkbox" name="lang" value=code.clone() checked=chosen.languages.contains(&code)/>
                                            <span>{name}</span>
                                        </label>
                                    }).collect_view()}
                                </div>
                            </details>
                        }
                    })
                })}
            </Suspense>
            <div class="actions">
                <label class="check">
                    <input type="checkbox" name="eligible" value="1" checked=move || current().eligible_only/>
                    "Eligible only"
                </label>
                <button type="submit">"Apply filters"</button>
                <a href="/channels" class="button secondary">"Clear"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match channels.await {
                    Ok(list) => {
                        let f = filter.get_untracked();
                        let pages = list.pages();
                        let empty = list.rows.is_empty();
                        let admin = is_admin;
                        view! {
                            <p class="muted">{format!("{} channels", count(list.total as i64))}</p>
                            <div class="table-wrap" tabindex="0">
                                <table class="channels cards-on-phone">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Channel"</th>
                                            <th scope="col">"Topic"</th>
                                            <th scope="col">"Language"</th>
                                            <th scope="col" class="num">"Subscribers"</th>
                                            <th scope="col" class="num">"Avg views"</th>
                                            <th scope="col" class="num">"Posts/day"</th>
                                            <th scope="col">"Eligible"</th>
                                            {admin.then(|| view! { <th scope="col"><span class="visually-hidden">"Edit"</span></th> })}
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|c| view! {
                                            <tr>
                                                <td>
                                                    <span class="handle">{format!("@{}", c.handle)}</span>
                                                    <span class="sub">{c.title}</span>
                                                </td>
                                                <td data-label="Topic">{c.topic_name}</td>
                                                <td data-label="Language"><code>{c.language}</code></td>
                                                <td class="num" data-label="Subscribers" title=count(c.subscribers)>{compact(c.subscribers)}</td>
                                                <td class="num" data-label="Avg views" title=count(c.avg_views)>{compact(c.avg_views)}</td>
                                                <td class="num" data-label="Posts/day">{format!("{:.1}", c.posts_per_day)}</td>
                                                <td data-label="Eligible">
                                                    {if c.eligible {
                                                        view! { <span class="badge ok">"Eligible"</span> }.into_any()
                                                    } else if c.active {
                                                        view! { <span class="badge">"Too small"</span> }.into_any()
                                                    } else {
                                                        view! { <span class="badge muted">"Inactive"</span> }.into_any()
                                                    }}
                                                </td>
                                                {admin.then(|| view! {
                                                    <td><a href=format!("/admin/channels/{}", c.id)
                                                        aria-label=format!("Edit @{}", c.handle)>"Edit"</a></td>
                                                })}
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {empty.then(|| view! { <p class="muted">"No channel matches these filters."</p> })}
                            <Pager page=list.page pages total=list.total href=move |p| href(&f, p)/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
