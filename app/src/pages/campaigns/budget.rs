//! The builder's budget and timing card: total budget, start and end in the account's time
//! zone, and the optional hour-of-week schedule.

use crate::{
    components::ScheduleGrid,
    error::FieldErrors,
    model::{MoneyLimits, Schedule},
};
use leptos::prelude::*;

/// The id of the "Only at certain hours of the week" checkbox (read before hydration by the
/// builder: it has no name, so the plain form does not send it).
pub const SCHEDULED_ID: &str = "c-scheduled";

#[component]
pub fn BudgetCard(
    total: RwSignal<String>,
    start: RwSignal<String>,
    end: RwSignal<String>,
    schedule: RwSignal<Option<Schedule>>,
    errors: RwSignal<FieldErrors>,
    limits: MoneyLimits,
    currency: String,
    /// The campaign has started: its start can no longer change.
    #[prop(into)]
    started: Signal<bool>,
    /// Clears one field's message (the field was edited).
    on_clear: Callback<&'static str>,
) -> impl IntoView {
    let error = move |field: &'static str| move || errors.with(|e| e.get(field).map(str::to_owned));
    let invalid = move |field: &'static str| move || errors.with(|e| e.get(field).is_some());
    let input = move |signal: RwSignal<String>, field: &'static str| {
        move |ev: leptos::ev::Event| {
            signal.set(event_target_value(&ev));
            on_clear.run(field);
        }
    };
    let scheduled = Memo::new(move |_| schedule.with(Option::is_some));
    let min_total = limits.min_total_budget.display(&currency);
    let min_cpm = limits.min_cpm.display(&currency);
    // Each field's value is also its HTML attribute (`prop:` alone is not rendered on the
    // server), so the page shows the campaign, and its plain form sends it, before the wasm.
    view! {
        <section class="card budget-card">
            <h2>"Budget & dates"</h2>
            <p class="hint">{format!("The CPM bid above is at least {min_cpm}. A campaign never spends more than its total budget.")}</p>
            <div class="field" class:invalid=invalid("total_budget")>
                <label for="c-total">{format!("Total budget ({currency})")}</label>
                <input id="c-total" name="total_budget" inputmode="decimal" placeholder=format!("at least {min_total}")
                    value=total.get_untracked() prop:value=move || total.get() aria-describedby="c-total-error"
                    on:input=input(total, "total_budget")/>
                <p class="field-error" id="c-total-error" role="alert">{error("total_budget")}</p>
            </div>
            <div class="field-row">
                <div class="field" class:invalid=invalid("start")>
                    <label for="c-start">"Start"</label>
                    <input id="c-start" name="start" type="datetime-local" value=start.get_untracked() prop:value=move || start.get()
                        disabled=move || started.get() aria-describedby="c-start-hint c-start-error"
                        on:input=input(start, "start")/>
                    <p class="hint" id="c-start-hint">
                        {move || if started.get() { "Started: the start cannot change." } else { "Empty: as soon as an ad is approved." }}
                    </p>
                    <p class="field-error" id="c-start-error" role="alert">{error("start")}</p>
                </div>
                <div class="field" class:invalid=invalid("end")>
                    <label for="c-end">"End (optional)"</label>
                    <input id="c-end" name="end" type="datetime-local" value=end.get_untracked() prop:value=move || end.get()
                        aria-describedby="c-end-hint c-end-error" on:input=input(end, "end")/>
                    <p class="hint" id="c-end-hint">"Empty: until the budget is spent."</p>
                    <p class="field-error" id="c-end-error" role="alert">{error("end")}</p>
                </div>
            </div>
            <div class="field" class:invalid=invalid("schedule")>
                <label class="check">
                    <input type="checkbox" id=SCHEDULED_ID checked=schedule.with_untracked(Option::is_some)
                        prop:checked=move || scheduled.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            schedule.set(on.then(Schedule::always));
                            on_clear.run("schedule");
                        }/>
                    "Only at certain hours of the week"
                </label>
                {move || scheduled.get().then(|| view! {
                    <ScheduleGrid
                        schedule=Signal::derive(move || schedule.get().unwrap_or_default())
                        on_change=Callback::new(move |next| { schedule.set(Some(next)); on_clear.run("schedule"); })
                        disabled=Signal::derive(|| false)
                    />
                })}
                <p class="field-error" role="alert">{error("schedule")}</p>
            </div>
        </section>
    }
}
