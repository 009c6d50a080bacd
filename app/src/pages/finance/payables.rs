//! `/finance/payables`: each channel's publisher share for a UTC month (less corrections), what
//! is owed in all, the payout CSV, and marking an ended month paid per channel.

use crate::{
    api::finance_console::{MarkPayoutPaid, finance_payables},
    components::FormError,
    error::AppError,
    model::PayableRow,
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FinancePayablesPage() -> impl IntoView {
    let query = use_query_map();
    let month = Memo::new(move |_| query.read().get("month").unwrap_or_default());
    let pay = ServerAction::<MarkPayoutPaid>::new();
    let data = Resource::new(
        move || (month.get(), pay.version().get()),
        |(m, _)| finance_payables(m),
    );
    // A payout refused names its reason whichever field it is about (the reference, or the
    // month while its slots are still open): the row's form has no other place to show it.
    let refused = Signal::derive(move || {
        pay.value().with(|r| match r {
            Some(Err(AppError::Invalid(fields))) => {
                Some(fields.0.values().cloned().collect::<Vec<_>>().join(" "))
            }
            Some(Err(other)) => Some(other.to_string()),
            _ => None,
        })
    });
    view! {
        <Title text="Publisher payables"/>
        <h1>"Publisher payables"</h1>
        <p class="lead">
            "Each channel's share of the charges for the slots it carried in a month (UTC), less what corrections gave back — a slot's later charges and reversals stay in its month. "
            "Download the CSV for the payout run, then mark each channel's month paid once its money has left: "
            "that moves it out of the payable in the ledger."
        </p>
        <FormError error=refused/>
        {move || matches!(pay.value().get(), Some(Ok(_))).then(|| view! {
            <p class="banner success" role="status" data-test="payout-result">
                {pay.value().get().and_then(Result::ok).map(|p| format!("Marked paid: {} to @{} for {}.", p.amount.display(&p.currency), p.channel, p.month))}
            </p>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(p) => {
                        let csv = format!("/finance/payables.csv?month={}", p.month);
                        let ended = p.ended;
                        let can_pay = p.can_pay && ended;
                        let month = p.month.clone();
                        view! {
                            <form method="get" action="/finance/payables" class="toolbar filters">
                                <div class="field">
                                    <label for="payables-month">"Month (UTC)"</label>
                                    <input id="payables-month" name="month" type="month" value=p.month.clone()/>
                                </div>
                                <button type="submit">"Show"</button>
                            </form>
                            <p><a class="button" href=csv rel="external" data-test="payables-csv">"Download payout CSV"</a></p>
                            <dl class="finance-sums" data-test="payables-totals">
                                {p.unpaid.iter().map(|(c, m)| view! {
                                    <div><dt>{format!("Owed for {} and unpaid ({c})", p.month)}</dt><dd>{m.display(c)}</dd></div>
                                }).collect_view()}
                                {p.owed_now.iter().map(|(c, m)| view! {
                                    <div><dt>{format!("Owed to publishers now, all months ({c})")}</dt><dd>{m.display(c)}</dd></div>
                                }).collect_view()}
                            </dl>
                            {(!ended).then(|| view! { <p class="muted">"This month's payouts can be marked paid from 00:05 UTC on the 1st of next month."</p> })}
                            {p.truncated.then(|| view! {
                                <p class="muted" data-test="payables-truncated">
                                    {format!("Showing the {} channels owed the most; the payout CSV lists every one.", p.rows.len())}
                                </p>
                            })}
                            {if p.rows.is_empty() {
                                view! { <p class="muted">"No publisher earned anything this month."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap" tabindex="0">
                                        <table class="data cards-on-phone" aria-label="Payables per channel">
                                            <thead><tr><th>"Channel"</th><th class="num">"Accrued"</th><th class="num">"Reversed"</th>
                                                <th class="num">"Owed for the month"</th><th class="num">"Payable balance"</th><th>"Payout"</th></tr></thead>
                                            <tbody>
                                                {p.rows.into_iter().map(|row| view! { <Row row pay can_pay month=month.clone()/> }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Row(
    row: PayableRow,
    pay: ServerAction<MarkPayoutPaid>,
    can_pay: bool,
    month: String,
) -> impl IntoView {
    let c = row.currency.clone();
    let m = move |x: crate::model::Micros| x.display(&c);
    let label_id = format!("payout-ref-{}-{}", row.channel_id, row.currency);
    let reference_label = format!("Payment reference for @{}", row.handle);
    let payout = match (&row.paid, can_pay && row.owed.0 > 0) {
        (Some((at, reference)), _) => view! {
            <span class="badge ok">{format!("Paid {} · {reference}", at.format("%Y-%m-%d"))}</span>
        }.into_any(),
        (None, true) => view! {
            <ActionForm action=pay attr:class="inline">
                <input type="hidden" name="input[channel]" value=row.channel_id/>
                <input type="hidden" name="input[currency]" value=row.currency.clone()/>
                <input type="hidden" name="input[month]" value=month/>
                <label for=label_id.clone() class="visually-hidden">{reference_label}</label>
                <input id=label_id name="input[reference]" placeholder="Payment reference" required=true maxlength="100"/>
                <button type="submit" class="small">"Mark paid"</button>
            </ActionForm>
        }.into_any(),
        (None, false) => view! { <span class="muted">"Not paid"</span> }.into_any(),
    };
    view! {
        <tr data-test="payable-row">
            <td><strong>{format!("@{}", row.handle)}</strong><br/><span class="muted small">{row.title.clone()}</span></td>
            <td class="num" data-label="Accrued">{m(row.accrued)}</td>
            <td class="num" data-label="Reversed">{m(row.reversed)}</td>
            <td class="num" data-label="Owed for the month">{m(row.owed)}</td>
            <td class="num" data-label="Payable balance">{m(row.balance)}</td>
            <td data-label="Payout">{payout}</td>
        </tr>
    }
}
