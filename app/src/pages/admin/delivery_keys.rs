//! Admin: delivery-network API keys — create one (its secret is shown once), see when each was
//! last used, revoke one at once.

use crate::{
    api::delivery::{CreateDeliveryKey, RevokeDeliveryKey, delivery_keys},
    components::{CopyButton, Field, FormError, field_error, form_error, reset_on_success},
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeliveryKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateDeliveryKey>::new();
    let revoke = ServerAction::<RevokeDeliveryKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| delivery_keys(),
    );
    let created: Signal<_> = create.value().into();
    // Once created, the form is empty (the password too) for the next key.
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(form, created);
    let revoked: Signal<_> = revoke.value().into();
    view! {
        <Title text="Delivery API keys"/>
        <h1>"Delivery API keys"</h1>
        <p class="lead">
            "A delivery network asks Herald which ad a channel's post carries and reports its views, with one of these keys. "
            "See the " <a href="/developers/delivery-api">"Delivery API guide"</a> " for integrators."
        </p>
        <section class="card">
            <h2>"New key"</h2>
            <ActionForm action=create node_ref=form attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(created)/>
                {move || created.get().and_then(Result::ok).map(|k| view! {
                    <div class="banner success" role="status">
                        <p>{format!("Key “{}” created. Copy its secret now: it is shown only this once.", k.name)}</p>
                        <code class="secret" data-test="new-key-secret">{k.secret.clone()}</code>
                    </div>
                    // Outside the banner's live region, whose text it would otherwise re-read.
                    <CopyButton text=k.secret what="key secret"/>
                })}
                <Field id="key-name" name="input[name]" label="Name"
                    hint="Who uses it, e.g. “Acme delivery network”." required=true
                    error=field_error(created, "name")/>
                <Field id="key-password" name="password" label="Your password" kind="password"
                    autocomplete="current-password"
                    hint="Asked again for a new key: a network with it reports views, which charge advertisers, until the key is revoked."
                    required=true error=field_error(created, "password")/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create key"</button>
            </ActionForm>
        </section>
        <FormError error=form_error(revoked)/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match keys.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No keys yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap" tabindex="0">
                            <table aria-label="Delivery API keys">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Key starts"</th>
                                    <th scope="col">"Created"</th><th scope="col">"Last used"</th>
                                    <th scope="col">"Status"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| {
                                        let revoke_label = format!("Revoke key {}", k.name);
                                        let status = match k.revoked_at {
                                            Some(at) => view! { <span class="badge bad">{format!("Revoked {}", utc(at))}</span> }.into_any(),
                                            None => view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=k.id.to_string()/>
                                                    <button type="submit" class="danger small"
                                                        aria-label=revoke_label>"Revoke"</button>
                                                </ActionForm>
                                            }.into_any(),
                                        };
                                        view! {
                                            <tr data-test="delivery-key">
                                                <td>{k.name}</td>
                                                <td><code>{format!("{}…", k.prefix)}</code></td>
                                                <td>{utc(k.created_at)}</td>
                                                <td>{k.last_used_at.map_or_else(|| "Never".to_owned(), utc)}</td>
                                                <td>{status}</td>
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
    }
}
