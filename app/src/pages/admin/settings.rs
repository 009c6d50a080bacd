//! Admin: the platform settings the catalog and the forecast depend on (audited; every
//! instance's forecast follows), and the bank details advertisers pay to.

use crate::{
    api::{
        admin::{UpdateBankDetails, bank_details_settings},
        catalog::{UpdateCatalogSettings, catalog_settings},
    },
    components::{Field, FormError, field_error, form_error},
    model::{
        ACCOUNT_CURRENCIES, BANK_DETAILS_CHANGE_DAYS, BANK_DETAILS_MAX, BankDetailsChange,
        BankDetailsInput, CatalogSettingsInput,
    },
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let update = ServerAction::<UpdateCatalogSettings>::new();
    let settings = Resource::new(move || update.version().get(), |_| catalog_settings());
    let bank = Resource::new(|| (), |_| bank_details_settings());
    view! {
        <Title text="Platform settings"/>
        <h1>"Platform settings"</h1>
        <p class="lead">"Changes apply to every forecast at once and are recorded in the audit log."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match settings.await {
                    Ok(current) => view! { <SettingsForm current update/> }.into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || suspend_once(async move {
                match bank.await {
                    Ok(current) => view! { <BankDetailsForm current=current.input last_change=current.last_change/> }.into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Where advertisers send money: shown on every account's balance page beside its payment
/// reference.
#[component]
fn BankDetailsForm(
    current: BankDetailsInput,
    last_change: Option<BankDetailsChange>,
) -> impl IntoView {
    let update = ServerAction::<UpdateBankDetails>::new();
    let result: Signal<_> = update.value().into();
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let error = field_error(result, "bank_details");
    view! {
        <section class="card" aria-labelledby="bank-details-title">
            <h2 id="bank-details-title">"Bank details for top-ups"</h2>
            <p class="hint">
                {format!(
                    "Changing them sends every advertiser's next transfer somewhere else: finance staff see the change on their dashboard for {BANK_DETAILS_CHANGE_DAYS} days, to check it against the bank."
                )}
            </p>
            {last_change.map(|c| {
                let line = format!("Last changed {} by {}.", utc(c.at), c.by.unwrap_or_else(|| "a deleted user".into()));
                // Saved here: the line would name the change before this one.
                view! {
                    <Show when=move || !saved()>
                        <p class="muted small" data-test="bank-details-changed">{line.clone()}</p>
                    </Show>
                }
            })}
            <ActionForm action=update attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=saved>
                    <div class="banner success" role="status">"Bank details saved."</div>
                </Show>
                <div class="field" class:invalid=move || error.get().is_some()>
                    <label for="settings-bank-details">"Bank details shown to advertisers"</label>
                    <textarea id="settings-bank-details" name="input[bank_details]" rows="6"
                        maxlength=BANK_DETAILS_MAX.to_string()
                        aria-describedby="settings-bank-details-hint settings-bank-details-error"
                        aria-invalid=move || error.get().is_some().then_some("true")
                    >{current.bank_details}</textarea>
                    <p class="hint" id="settings-bank-details-hint">
                        "Payee, bank, IBAN and BIC (per currency if they differ), shown on every account's Balance & billing page beside the account's own payment reference. "
                        "Leave empty to withdraw them."
                    </p>
                    <p class="field-error" id="settings-bank-details-error" role="alert">{move || error.get()}</p>
                </div>
                <Field
                    id="settings-bank-details-password"
                    name="password"
                    label="Your password"
                    kind="password"
                    autocomplete="current-password"
                    hint="Asked again for this change, which sends every advertiser's money to the account named here."
                    required=true
                    error=field_error(result, "password")
                />
                <button type="submit" class="primary" disabled=move || update.pending().get()>
                    "Save bank details"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SettingsForm(
    current: CatalogSettingsInput,
    update: ServerAction<UpdateCatalogSettings>,
) -> impl IntoView {
    let result: Signal<_> = update.value().into();
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    view! {
        <section class="card">
            <h2>"Catalog, forecast and money"</h2>
            <ActionForm action=update attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=saved>
                    <div class="banner success" role="status">"Settings saved."</div>
                </Show>
                <Field
                    id="settings-min-subs"
                    name="input[min_subscribers]"
                    label="Eligibility threshold (subscribers)"
                    value=current.min_subscribers
                    hint="Active channels with at least this many subscribers can carry ads."
                    error=field_error(result, "min_subscribers")
                />
                <Field
                    id="settings-slots"
                    name="input[slots_per_day]"
                    label="Ad slots per channel per day"
                    value=current.slots_per_day
                    hint="Delivery serves at most this many sponsored messages per channel per UTC day; the forecast's capacity is average views × min(posts per day, this)."
                    error=field_error(result, "slots_per_day")
                />
                <h2>"Campaign money"</h2>
                <div class="field" class:invalid=move || field_error(result, "currency").get().is_some()>
                    <label for="settings-currency">"Currency of new ad accounts"</label>
                    <select id="settings-currency" name="input[currency]"
                        aria-describedby="settings-currency-hint settings-currency-error">
                        {ACCOUNT_CURRENCIES.into_iter().map(|(code, name)| {
                            let selected = code == current.currency;
                            view! { <option value=code selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                    <p class="hint" id="settings-currency-hint">
                        "An account is opened in this currency and keeps it: its balance, bids, budgets and statements are in it. "
                        "Changing it changes no existing account. The limits below are in each account's own currency."
                    </p>
                    <p class="field-error" id="settings-currency-error" role="alert">{move || field_error(result, "currency").get()}</p>
                </div>
                <Field
                    id="settings-min-cpm"
                    name="input[min_cpm]"
                    label="Minimum CPM bid"
                    value=current.min_cpm
                    hint="A campaign's bid per thousand views may not be lower (in the account's currency)."
                    error=field_error(result, "min_cpm")
                />
                <Field
                    id="settings-min-budget"
                    name="input[min_total_budget]"
                    label="Minimum total budget"
                    value=current.min_total_budget
                    hint="In the account's currency. Checked when a campaign is saved; running campaigns keep theirs."
                    error=field_error(result, "min_total_budget")
                />
                <h2>"Delivery"</h2>
                <Field
                    id="settings-publisher-share"
                    name="input[publisher_share]"
                    label="Publisher share (%)"
                    value=current.publisher_share
                    hint="Each charge for views goes this much to the channel's publisher, the rest to the platform (which keeps any rounding micro-unit)."
                    error=field_error(result, "publisher_share")
                />
                <Field
                    id="settings-hold-hours"
                    name="input[hold_hours]"
                    label="Hold expiry (hours)"
                    value=current.hold_hours
                    hint="A won slot's reserved cost stays held this long for its views to arrive; then the unused rest returns to the advertiser's balance."
                    error=field_error(result, "hold_hours")
                />
                <h2>"Reports"</h2>
                <Field
                    id="settings-report-min-views"
                    name="input[report_min_views]"
                    label="Smallest channel shown on its own (views)"
                    value=current.report_min_views
                    hint="In a report, a channel with fewer views than this in the period is added to “Other channels”, so no report singles out a tiny audience. Totals stay exact."
                    error=field_error(result, "report_min_views")
                />
                <h2>"Finance"</h2>
                <Field
                    id="settings-approval-units"
                    name="input[approval_units]"
                    label="Second approval above (currency units)"
                    value=current.approval_units
                    hint="A credit, refund, correction or publisher payout larger than this, in its currency, waits until a second finance person approves it."
                    error=field_error(result, "approval_units")
                />
                <button type="submit" class="primary" disabled=move || update.pending().get()>
                    "Save settings"
                </button>
            </ActionForm>
        </section>
    }
}
