//! Admin: the topic taxonomy — every topic with its channels, adding one, renaming one. A
//! topic's slug never changes (campaigns' targeting and catalog files name topics by it), so
//! there is no deleting or re-slugging here: a topic no longer wanted is renamed or left empty.

use crate::{
    api::catalog::{SaveTopic, topic_rows},
    components::{Field, FormError, field_error, form_error, reset_on_success},
    model::{TOPIC_NAME_MAX, TopicRow},
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn TopicsPage() -> impl IntoView {
    // Two actions, so that each form's errors show beside its own fields.
    let add = ServerAction::<SaveTopic>::new();
    let rename = ServerAction::<SaveTopic>::new();
    // Sending one form clears what the other last said, so one message shows at a time.
    Effect::new(move |_| {
        if rename.input().get().is_some() {
            add.value().set(None);
        }
    });
    Effect::new(move |_| {
        if add.input().get().is_some() {
            rename.value().set(None);
        }
    });
    let rows = Resource::new(
        move || (add.version().get(), rename.version().get()),
        |_| topic_rows(),
    );
    view! {
        <Title text="Topics"/>
        <div class="page-head">
            <h1>"Topics"</h1>
            <a class="button ghost" href="/channels">"Browse channels"</a>
        </div>
        <p class="lead">
            "The taxonomy channels are filed under and campaigns target. A topic's name can change at any time; "
            "its slug never does, because campaigns and catalog files name topics by it. "
            "Changes reach every forecast within seconds and are recorded in the audit log."
        </p>
        <AddForm add/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match rows.await {
                    // With no topic there is nothing to rename (and the form would post none).
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No topics yet: add the first one above."</p> }.into_any(),
                    Ok(list) => view! { <TopicTable list=list.clone()/> <RenameForm list rename/> }.into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TopicTable(list: Vec<TopicRow>) -> impl IntoView {
    let count = list.len();
    view! {
        <section class="card" aria-labelledby="topics-heading">
            <h2 id="topics-heading">{format!("{count} topics")}</h2>
            <div class="table-wrap" tabindex="0">
                <table aria-label="Topics">
                    <thead><tr>
                        <th scope="col">"Topic and slug"</th>
                        <th scope="col" class="num">"Channels"</th>
                        <th scope="col"><span class="visually-hidden">"Rename"</span></th>
                    </tr></thead>
                    <tbody>
                        {list.into_iter().map(|t| {
                            let channels = format!("/channels?topic={}", t.slug);
                            let rename = format!("/admin/topics?rename={}#rename", t.slug);
                            let rename_label = format!("Rename {}", t.name);
                            let shown = format!("{} channels of {}", t.channels, t.name);
                            view! {
                                <tr data-test="topic">
                                    <td>
                                        <span class="topic-name">{t.name.clone()}</span>
                                        <code class="sub">{t.slug.clone()}</code>
                                    </td>
                                    <td class="num">
                                        <a href=channels aria-label=shown>{t.channels.to_string()}</a>
                                    </td>
                                    <td><a href=rename aria-label=rename_label>"Rename"</a></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Renames the topic chosen in the list (the table's "Rename" links choose it by address, so
/// the form works before the page's script has loaded too).
#[component]
fn RenameForm(list: Vec<TopicRow>, rename: ServerAction<SaveTopic>) -> impl IntoView {
    let query = use_query_map();
    // Followed in the browser too: a "Rename" link changes only the address's query.
    let chosen = Memo::new(move |_| query.with(|q| q.get("rename")).unwrap_or_default());
    let result: Signal<_> = rename.value().into();
    let renamed = move || matches!(result.get(), Some(Ok(_)));
    view! {
        <section class="card" id="rename" aria-labelledby="rename-heading">
            <h2 id="rename-heading">"Rename a topic"</h2>
            <ActionForm action=rename attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=renamed>
                    <div class="banner success" role="status">"Topic renamed."</div>
                </Show>
                <div class="field" class:invalid=move || field_error(result, "id").get().is_some()>
                    <label for="rename-topic">"Topic"</label>
                    <select id="rename-topic" name="input[id]" aria-describedby="rename-topic-error">
                        {list.into_iter().map(|t| {
                            let slug = t.slug.clone();
                            let served = chosen.get_untracked() == slug;
                            view! {
                                <option value=t.id.to_string() selected=served
                                    prop:selected=move || chosen.with(|c| *c == slug)>
                                    {format!("{} ({})", t.name, t.slug)}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                    <p class="field-error" id="rename-topic-error" role="alert">{move || field_error(result, "id").get()}</p>
                </div>
                <div class="field" class:invalid=move || field_error(result, "name").get().is_some()>
                    <label for="rename-name">"New name"</label>
                    <input id="rename-name" name="input[name]" maxlength=TOPIC_NAME_MAX.to_string()
                        aria-describedby="rename-name-error"/>
                    <p class="field-error" id="rename-name-error" role="alert">{move || field_error(result, "name").get()}</p>
                </div>
                <button type="submit" class="primary" disabled=move || rename.pending().get()>"Rename topic"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn AddForm(add: ServerAction<SaveTopic>) -> impl IntoView {
    let result: Signal<_> = add.value().into();
    let added = move || matches!(result.get(), Some(Ok(_)));
    // Once added, the form is empty for the next one (a refusal keeps what was typed).
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(form, result);
    view! {
        <section class="card" aria-labelledby="add-topic-heading">
            <h2 id="add-topic-heading">"Add a topic"</h2>
            <ActionForm action=add node_ref=form attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=added>
                    <div class="banner success" role="status">"Topic added. Channels can be filed under it now."</div>
                </Show>
                <Field id="topic-name" name="input[name]" label="Name" required=true
                    hint="As advertisers and moderators will read it, e.g. “Food & Drink”."
                    error=field_error(result, "name")/>
                <Field id="topic-slug" name="input[slug]" label="Slug (optional)"
                    hint="Lowercase letters, digits and hyphens; catalog files and addresses use it, and it never changes. Left empty, it is made from the name."
                    error=field_error(result, "slug")/>
                <button type="submit" class="primary" disabled=move || add.pending().get()>"Add topic"</button>
            </ActionForm>
        </section>
    }
}
