//! Admin: edit or deactivate one channel of the catalog (audited; forecasts follow at once).

use crate::{
    api::catalog::{UpdateChannel, channel_for_edit, load_targeting_options},
    components::{Field, FormError, count, field_error, form_error},
    model::{ChannelId, ChannelInput, ChannelRow, LANGUAGES, TargetingOptions},
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ChannelEditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<ChannelId>().ok())
    };
    let update = ServerAction::<UpdateChannel>::new();
    // Two resources, not two calls in one: a server function called after another's `.await`
    // during server rendering no longer sees its request.
    let channel = Resource::new(
        move || (id(), update.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => channel_for_edit(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    let options = Resource::new(|| (), |_| load_targeting_options());
    view! {
        <Title text="Edit channel"/>
        <p><a href="/channels">"← Channels"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match (channel.await, options.await) {
                    (Ok((row, input)), Ok(options)) => view! { <ChannelForm row input options update/> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <h1>"Edit channel"</h1><p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ChannelForm(
    row: ChannelRow,
    input: ChannelInput,
    options: TargetingOptions,
    update: ServerAction<UpdateChannel>,
) -> impl IntoView {
    let result: Signal<_> = update.value().into();
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let topic_error = field_error(result, "topic");
    let language_error = field_error(result, "language");
    let active = input.active;
    view! {
        <h1>{format!("@{}", row.handle)}</h1>
        <p class="lead">
            {if row.eligible { "Eligible for ads." } else if row.active { "Active, but below the subscriber threshold." } else { "Inactive: no ads run here." }}
            " Changes are audited and forecasts use them at once."
        </p>
        <section class="card">
            <ActionForm action=update attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=saved>
                    <div class="banner success" role="status">"Channel saved."</div>
                </Show>
                <input type="hidden" name="id" value=row.id.to_string()/>
                <input type="hidden" name="input[handle]" value=input.handle.clone()/>
                <Field id="ch-title" name="input[title]" label="Title" value=input.title.clone() required=true error=field_error(result, "title")/>
                <div class="field-row">
                    <div class="field" class:invalid=move || topic_error.get().is_some()>
                        <label for="ch-topic">"Topic"</label>
                        <select id="ch-topic" name="input[topic]" aria-describedby="ch-topic-error">
                            {options.topics.into_iter().map(|(slug, name, _)| {
                                let selected = slug == input.topic;
                                view! { <option value=slug selected=selected>{name}</option> }
                            }).collect_view()}
                        </select>
                        <p class="field-error" id="ch-topic-error" role="alert">{move || topic_error.get()}</p>
                    </div>
                    <div class="field" class:invalid=move || language_error.get().is_some()>
                        <label for="ch-language">"Language"</label>
                        <select id="ch-language" name="input[language]" aria-describedby="ch-language-error">
                            {LANGUAGES.iter().map(|(code, name)| view! {
                                <option value=*code selected=*code == input.language>{format!("{name} ({code})")}</option>
                            }).collect_view()}
                        </select>
                        <p class="field-error" id="ch-language-error" role="alert">{move || language_error.get()}</p>
                    </div>
                </div>
                <div class="field-row">
                    <Field id="ch-subs" name="input[subscribers]" label="Subscribers" value=input.subscribers.clone() hint="e.g. 12000 or 12k" error=field_error(result, "subscribers")/>
                    <Field id="ch-views" name="input[avg_views]" label="Average views" value=input.avg_views.clone() error=field_error(result, "avg_views")/>
                    <Field id="ch-posts" name="input[posts_per_day]" label="Posts per day" value=input.posts_per_day.clone() error=field_error(result, "posts_per_day")/>
                </div>
                <div class="field">
                    <label for="ch-status">"Status"</label>
                    <select id="ch-status" name="input[active]">
                        <option value="true" selected=active>"Active"</option>
                        <option value="false" selected=!active>"Inactive (no ads)"</option>
                    </select>
                </div>
                <p class="hint">{format!("Now: {} subscribers, {} average views.", count(row.subscribers), count(row.avg_views))}</p>
                <button type="submit" class="primary" disabled=move || update.pending().get()>"Save channel"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
