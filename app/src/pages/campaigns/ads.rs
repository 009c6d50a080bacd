//! The campaign page's ads: each ad's preview, its state (approved, in review, an edit
//! waiting), its version, and pause/resume; a link to write a new one (up to 10).

use crate::{
    api::ads::{list_ads, pause_ad},
    components::AdPreview,
    model::{AdDetails, AdId, CampaignId, MAX_ADS_PER_CAMPAIGN},
};
use leptos::{prelude::*, task::spawn_local};

#[component]
pub fn AdsSection(
    campaign: CampaignId,
    initial: Vec<AdDetails>,
    /// The account's currency, for each ad's spend.
    currency: String,
    #[prop(into)] can_edit: Signal<bool>,
    /// Bumped by the builder when the ads changed elsewhere (sent for review).
    reload: RwSignal<u64>,
) -> impl IntoView {
    let ads = RwSignal::new(initial);
    let failure = RwSignal::new(None::<String>);
    let refresh = move || {
        spawn_local(async move {
            match list_ads(campaign).await {
                Ok(list) => {
                    ads.try_set(list);
                }
                Err(e) => {
                    failure.try_set(Some(e.to_string()));
                }
            }
        });
    };
    Effect::new(move |first: Option<()>| {
        reload.track();
        if first.is_some() {
            refresh();
        }
    });
    let toggle = move |id: AdId, paused: bool| {
        move |_| {
            spawn_local(async move {
                match pause_ad(id, paused).await {
                    Ok(()) => refresh(),
                    Err(e) => {
                        failure.try_set(Some(e.to_string()));
                    }
                }
            });
        }
    };
    view! {
        <section class="card ads-card" aria-labelledby="ads-heading">
            <div class="section-head">
                <h2 id="ads-heading">{move || format!("Ads ({} of {MAX_ADS_PER_CAMPAIGN})", ads.with(Vec::len))}</h2>
                {move || (can_edit.get() && ads.with(Vec::len) < MAX_ADS_PER_CAMPAIGN).then(|| view! {
                    <a class="button" id="new-ad" href=format!("/campaigns/{campaign}/ads/new")>"Write an ad"</a>
                })}
            </div>
            {move || failure.get().map(|m| view! { <p class="banner error">{m}</p> })}
            {move || ads.with(Vec::is_empty).then(|| view! {
                <p class="muted">"No ads yet. A campaign runs once one of its ads is approved."</p>
            })}
            <div class="ad-list">
                {move || ads.get().into_iter().map(|ad| {
                    let shown = ad.live().or(ad.latest()).map(|v| v.copy.clone()).unwrap_or_default();
                    let version = ad.latest().map(|v| format!("v{} · {}", v.number, v.status.label())).unwrap_or_default();
                    let state = ad.state_label();
                    let tone = if ad.paused { "muted" } else { ad.latest().map_or("muted", |v| v.status.tone()) };
                    let id = ad.id;
                    let paused = ad.paused;
                    let title = ad.title.clone();
                    let edit_label = move || format!("{} ad “{}”", if can_edit.get() { "Edit" } else { "Open" }, title);
                    let toggle_label = format!("{} ad “{}”", if paused { "Resume" } else { "Pause" }, ad.title);
                    view! {
                        <article class="ad-item" data-test="ad-item">
                            <AdPreview copy=Signal::derive(move || shown.clone())/>
                            <div class="ad-meta">
                                <h3>{ad.title.clone()}</h3>
                                <p><span class=format!("badge {tone}")>{state}</span></p>
                                <p class="muted small">{version}</p>
                                {ad.live_version.map(|n| view! { <p class="muted small">{format!("Serving: version {n}")}</p> })}
                                <p class="small" data-test="ad-delivery">{format!(
                                    "{} views · {} clicks · {} spent",
                                    crate::model::group_thousands(ad.delivery.views.max(0) as u64),
                                    crate::model::group_thousands(ad.delivery.clicks.max(0) as u64),
                                    ad.delivery.spent.display(&currency)
                                )}</p>
                                <div class="actions">
                                    <a href=format!("/campaigns/{campaign}/ads/{id}") aria-label=edit_label>{move || if can_edit.get() { "Edit" } else { "Open" }}</a>
                                    {move || can_edit.get().then(|| view! {
                                        <button type="button" class="link-button" aria-label=toggle_label.clone() on:click=toggle(id, !paused)>
                                            {if paused { "Resume" } else { "Pause" }}
                                        </button>
                                    })}
                                </div>
                            </div>
                        </article>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}
