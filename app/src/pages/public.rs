//! Public pages anyone can read without signing in: the advertising guidelines (every policy
//! reason, anchored by its code) and the review-time figures of the last seven days.

use crate::{
    api::moderation::{get_review_times, policy_reasons},
    model::{REVIEW_TIME_DAYS, format_duration},
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The frame of a public page: the brand, links between the public pages, and sign-in.
#[component]
pub(crate) fn PublicFrame(children: Children) -> impl IntoView {
    view! {
        <div class="public">
            <header class="topbar">
                <a class="brand" href="/">"Herald"</a>
                <nav class="public-nav" aria-label="Public">
                    <a href="/guidelines">"Guidelines"</a>
                    <a href="/review-times">"Review times"</a>
                    <a href="/developers/delivery-api">"Delivery API"</a>
                </nav>
                <div class="spacer"></div>
                <a class="button ghost small" href="/">"Open Herald"</a>
            </header>
            <main class="public-content" id="content">{children()}</main>
        </div>
    }
}

#[component]
pub fn GuidelinesPage() -> impl IntoView {
    let reasons = Resource::new(|| (), |_| policy_reasons());
    view! {
        <Title text="Advertising guidelines"/>
        <PublicFrame>
            <h1>"Advertising guidelines"</h1>
            <p class="lead">
                "Every ad on Herald is reviewed by a person. A decline always names one or more of the reasons below, "
                "links to its section here, and can be appealed once to a different moderator."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || suspend_once(async move {
                    match reasons.await {
                        Ok(list) => view! {
                            <nav class="card toc" aria-label="Contents">
                                <ol>
                                    {list.iter().filter(|r| r.active).map(|r| view! {
                                        <li><a href=format!("#{}", r.code)>{r.title.clone()}</a></li>
                                    }).collect_view()}
                                </ol>
                            </nav>
                            {list.into_iter().map(|r| {
                                let retired = !r.active;
                                view! {
                                    <section class="card guideline" id=r.code.clone() data-test="guideline">
                                        <h2>
                                            <a class="anchor" href=format!("#{}", r.code) aria-label=format!("Link to “{}”", r.title)>"#"</a>
                                            {r.title.clone()}
                                            {retired.then(|| view! { <span class="badge muted">"Retired"</span> })}
                                        </h2>
                                        <p>{r.guideline.clone()}</p>
                                        <p class="muted small">{format!("Reason code: {}", r.code)}</p>
                                    </section>
                                }
                            }).collect_view()}
                        }
                        .into_any(),
                        Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </PublicFrame>
    }
}

#[component]
pub fn ReviewTimesPage() -> impl IntoView {
    let times = Resource::new(|| (), |_| get_review_times());
    let or_dash = |secs: Option<i64>| secs.map_or_else(|| "—".to_owned(), format_duration);
    view! {
        <Title text="Review times"/>
        <PublicFrame>
            <h1>"Review times"</h1>
            <p class="lead">
                {format!("How long ads waited for a decision over the last {REVIEW_TIME_DAYS} days, computed from every decision made — measured from the moment an ad was sent to the moment a moderator decided.")}
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || suspend_once(async move {
                    match times.await {
                        Ok(t) => {
                            let rate = t.approval_percent().map_or_else(|| "—".to_owned(), |p| format!("{p} %"));
                            view! {
                                <div class="figures">
                                    <div class="figure card"><span class="figure-label">"Median time to decision"</span><strong data-test="median">{or_dash(t.median_secs)}</strong></div>
                                    <div class="figure card"><span class="figure-label">"95th percentile"</span><strong data-test="p95">{or_dash(t.p95_secs)}</strong></div>
                                    <div class="figure card"><span class="figure-label">"Reviewed"</span><strong data-test="reviewed">{t.reviewed}</strong></div>
                                    <div class="figure card"><span class="figure-label">"Approved"</span><strong data-test="approval-rate">{rate}</strong></div>
                                </div>
                                <p class="muted small">
                                    {format!("From {} to {}. Appeals decided in this period: {}. Waiting now: {}", utc(t.from), utc(t.to), t.appeals_decided, t.waiting)}
                                    {t.oldest_wait_secs.map(|s| format!(" (the oldest for {})", format_duration(s)))}
                                    "."
                                </p>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </PublicFrame>
    }
}
