//! The account page: settings (owners edit them) and the members with their roles.

use crate::{
    api::accounts::{UpdateAccount, get_account},
    components::{Field, FormError, SelectField, field_error, form_error},
    model::{AccountDetails, AccountPermission, TIME_ZONES},
    pages::{
        members::{InviteSection, MemberActions, MembersSection, viewer_is_owner},
        security::SecuritySection,
        suspend_once,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let update = ServerAction::<UpdateAccount>::new();
    let members = MemberActions::default();
    // Only owners may list invitations; anyone else asking would be refused (and audited).
    let owner = viewer_is_owner();
    let account = Resource::new(
        move || (update.version().get(), members.version()),
        |_| get_account(),
    );
    view! {
        <Title text="Account & members"/>
        <h1>"Account & members"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match account.await {
                    Ok(details) => view! { <AccountView details update members/> }.into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        {owner.then(|| view! { <InviteSection actions=members/> })}
        <SecuritySection/>
    }
}

#[component]
fn AccountView(
    details: AccountDetails,
    update: ServerAction<UpdateAccount>,
    members: MemberActions,
) -> impl IntoView {
    let can_manage = details.my_role.allows(AccountPermission::ManageAccount);
    let result: Signal<_> = update.value().into();
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let settings = if can_manage {
        view! {
            <ActionForm action=update attr:class="stack narrow" attr:novalidate=true>
                <input type="hidden" name="account" value=details.id.0/>
                <FormError error=form_error(result)/>
                <Show when=saved>
                    <div class="banner success" role="status">"Settings saved."</div>
                </Show>
                <Field
                    id="account-name"
                    name="input[name]"
                    label="Account name"
                    value=details.name.clone()
                    required=true
                    error=field_error(result, "name")
                />
                <SelectField
                    id="account-tz"
                    name="input[time_zone]"
                    label="Time zone"
                    options=TIME_ZONES
                    selected=details.time_zone.clone()
                    hint="Campaign schedules and daily budgets follow this time zone."
                    error=field_error(result, "time_zone")
                />
                <div class="field">
                    <span class="label">"Currency"</span>
                    <p>{details.currency.clone()}</p>
                </div>
                <button type="submit" class="primary" disabled=move || update.pending().get()>
                    "Save settings"
                </button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <dl class="facts">
                <dt>"Account name"</dt><dd>{details.name.clone()}</dd>
                <dt>"Time zone"</dt><dd>{details.time_zone.clone()}</dd>
                <dt>"Currency"</dt><dd>{details.currency.clone()}</dd>
            </dl>
            <p class="muted small">"Only owners can change these settings."</p>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            {settings}
        </section>
        <MembersSection members=details.members my_role=details.my_role actions=members/>
    }
}
