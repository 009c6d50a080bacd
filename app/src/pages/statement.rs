//! `/billing/statement` and `/finance/accounts/:id/statement`: a printable monthly statement.

use crate::{
    api::statements::{account_statement, finance_statement},
    error::AppError,
    model::{AccountId, Micros, Statement, StatementSection},
    pages::suspend_once,
};
use chrono::{Months, NaiveDate};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The current account's statement (owners, managers and billing members).
#[component]
pub fn StatementPage() -> impl IntoView {
    let query = use_query_map();
    let month = Memo::new(move |_| query.read().get("month").unwrap_or_default());
    let data = Resource::new(move || month.get(), account_statement);
    view! {
        <Title text="Monthly statement"/>
        <p class="statement-controls"><a href="/balance">"← Balance & billing"</a></p>
        <StatementLoader data month base="/billing/statement".to_owned() csv="/billing/statement.csv".to_owned()/>
    }
}

/// Any account's statement, for finance staff (admins read).
#[component]
pub fn FinanceStatementPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let month = Memo::new(move |_| query.read().get("month").unwrap_or_default());
    let data = Resource::new(
        move || (id.get(), month.get()),
        |(id, month)| finance_statement(AccountId(id), month),
    );
    let base = format!("/finance/accounts/{}/statement", id.get_untracked());
    view! {
        <Title text="Monthly statement"/>
        <p class="statement-controls">
            <a href=format!("/finance/accounts/{}", id.get_untracked())>"← Account ledger"</a>
        </p>
        <StatementLoader data month csv=format!("{base}.csv") base/>
    }
}

/// The statement once loaded, or the month picker with what was wrong.
#[component]
fn StatementLoader(
    data: Resource<Result<Statement, AppError>>,
    month: Memo<String>,
    /// The page's own path, which the month picker and the month links go to.
    base: String,
    /// The CSV download's path.
    csv: String,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let (base, csv) = (base.clone(), csv.clone());
                suspend_once(async move {
                    match data.await {
                        Ok(s) => view! { <StatementView s base csv/> }.into_any(),
                        Err(AppError::Invalid(fields)) => {
                            let error = fields.get("month").map(str::to_owned);
                            view! {
                                <h1>"Monthly statement"</h1>
                                <MonthPicker base month=month.get_untracked() error/>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The GET form that picks a month (works without the wasm).
#[component]
fn MonthPicker(base: String, month: String, error: Option<String>) -> impl IntoView {
    let invalid = error.is_some();
    view! {
        <form method="get" action=base class="toolbar filters statement-controls">
            <div class="field">
                <label for="statement-month">"Month"</label>
                <input id="statement-month" name="month" type="month" value=month
                    aria-invalid=invalid.then_some("true")
                    aria-describedby=invalid.then_some("statement-month-error")/>
                {error.map(|e| view! { <p class="field-error" id="statement-month-error" role="alert">{e}</p> })}
            </div>
            <button type="submit">"Show"</button>
        </form>
    }
}

/// `YYYY-MM` of the month `delta` months from the one starting on `first`.
fn month_from(first: NaiveDate, delta: i32) -> Option<String> {
    let months = Months::new(delta.unsigned_abs());
    let day = if delta < 0 {
        first.checked_sub_months(months)
    } else {
        first.checked_add_months(months)
    };
    day.map(|d| d.format("%Y-%m").to_string())
}

#[component]
fn StatementView(s: Statement, base: String, csv: String) -> impl IntoView {
    let currency = s.currency.clone();
    let money = move |m: Micros| m.display(&currency);
    let signed = {
        let money = money.clone();
        move |m: Micros| {
            let sign = if m.0 > 0 { "+" } else { "" };
            format!("{sign}{}", money(m))
        }
    };
    let title = format!("{} · {}", s.account_name, s.first_day.format("%B %Y"));
    let previous = month_from(s.first_day, -1).map(|m| format!("{base}?month={m}"));
    let next = (!s.in_progress)
        .then(|| month_from(s.first_day, 1))
        .flatten()
        .map(|m| format!("{base}?month={m}"));
    let closing_label = s.closing_label();
    let settling = (!s.in_progress && !s.is_final).then(|| {
        format!(
            "This month ended moments ago: money for views shown just before midnight can still arrive, so these figures are final from {} UTC.",
            s.final_from.format("%Y-%m-%d %H:%M")
        )
    });
    let period = format!(
        "Months begin and end at midnight in the account's time zone, {}: this statement covers {} 00:00 to {} 24:00 ({} to {} UTC).",
        s.time_zone,
        s.first_day.format("%-d %B %Y"),
        s.last_day.format("%-d %B %Y"),
        s.from.format("%Y-%m-%d %H:%M"),
        s.to.format("%Y-%m-%d %H:%M"),
    );
    let summary = [
        ("Top-ups", s.top_ups.total),
        ("Spend", s.spend.total),
        ("Refunds", s.refunds.total),
        ("Corrections", s.corrections.total),
    ];
    let sections: Vec<(&'static str, StatementSection)> = s
        .sections()
        .into_iter()
        .map(|(heading, section)| (heading, section.clone()))
        .collect();
    view! {
        <article class="statement" data-test="statement">
            <header class="page-head">
                <h1>"Monthly statement"</h1>
            </header>
            <p class="lead" data-test="statement-title">{title}</p>
            <div class="statement-controls">
                <MonthPicker base=base.clone() month=s.month.clone() error=None/>
                <nav class="pager" aria-label="Months">
                    {previous.map(|href| view! { <a href=href rel="prev">"← Previous month"</a> })}
                    {next.map(|href| view! { <a href=href rel="next">"Next month →"</a> })}
                </nav>
                <p>
                    <a class="button" href=format!("{csv}?month={}", s.month) rel="external" data-test="statement-csv">"Download CSV"</a>
                    " "
                    <PrintButton/>
                </p>
                <p class="hint">"To print or keep a PDF, use your browser's Print command (Ctrl+P or ⌘P): the page prints without its menus."</p>
            </div>
            <p class="hint" data-test="statement-period">{period}</p>
            <p class="hint">
                "Payment reference for top-ups (quote it on every bank transfer to this account): "
                <span class="payment-reference">{s.payment_reference.clone()}</span>
            </p>
            {s.in_progress.then(|| view! { <p class="muted">"This month has not ended: the figures are as of now."</p> })}
            {settling.map(|text| view! { <p class="muted" data-test="statement-provisional">{text}</p> })}
            <div class="table-wrap" tabindex="0">
                <table class="data statement-summary" data-test="statement-summary">
                    <caption>{format!("Summary ({})", s.currency)}</caption>
                    <tbody>
                        <tr><th scope="row">"Opening balance"</th><td class="num" data-test="opening">{money(s.opening)}</td></tr>
                        {summary.into_iter().map(|(label, total)| view! {
                            <tr><th scope="row">{label}</th><td class="num" class:negative=total.0 < 0>{signed(total)}</td></tr>
                        }).collect_view()}
                    </tbody>
                    <tfoot>
                        <tr><th scope="row">{closing_label}</th><td class="num" data-test="closing">{money(s.closing)}</td></tr>
                        <tr><th scope="row">"Of which available"</th><td class="num">{money(s.closing_available)}</td></tr>
                        <tr><th scope="row">"Of which held for won slots"</th><td class="num">{money(s.closing_held)}</td></tr>
                    </tfoot>
                </table>
            </div>
            {sections.into_iter().map(|(heading, section)| view! {
                <SectionTable heading section currency=s.currency.clone()/>
            }).collect_view()}
            <p class="hint">
                "Amounts are in " {s.currency.clone()} ", signed as they changed the account's funds (the available balance plus what is held for won slots). "
                "Holding money for a won slot and returning what it did not use move money inside the funds, so they are not listed; spend is what was charged for views."
            </p>
        </article>
    }
}

/// One section's lines and total, in a table with its caption.
#[component]
fn SectionTable(
    heading: &'static str,
    section: StatementSection,
    currency: String,
) -> impl IntoView {
    let dated = section.lines.iter().any(|l| l.day.is_some());
    let money = move |m: Micros| {
        let sign = if m.0 > 0 { "+" } else { "" };
        format!("{sign}{}", m.display(&currency))
    };
    let total = money(section.total);
    let (columns, label_columns) = if dated { ("3", "2") } else { ("2", "1") };
    let body = if section.lines.is_empty() {
        view! { <tr><td colspan=columns class="muted">"None this month."</td></tr> }.into_any()
    } else {
        section
            .lines
            .into_iter()
            .map(|line| {
                let amount = money(line.amount);
                view! {
                    <tr>
                        {dated.then(|| view! { <td>{line.day.map(|d| d.to_string()).unwrap_or_default()}</td> })}
                        <td>{line.about}</td>
                        <td class="num" class:negative=line.amount.0 < 0>{amount}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="data statement-section">
                <caption>{heading}</caption>
                <thead><tr>
                    {dated.then(|| view! { <th scope="col">"Day"</th> })}
                    <th scope="col">"Description"</th>
                    <th scope="col" class="num">"Amount"</th>
                </tr></thead>
                <tbody>{body}</tbody>
                <tfoot><tr>
                    <th scope="row" colspan=label_columns>{format!("Total {}", heading.to_lowercase())}</th>
                    <td class="num">{total}</td>
                </tr></tfoot>
            </table>
        </div>
    }
}

/// A "Print" button, shown once the page is interactive (before that, the hint says how).
#[component]
fn PrintButton() -> impl IntoView {
    let interactive = RwSignal::new(false);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| interactive.set(true));
    view! {
        <Show when=move || interactive.get()>
            <button type="button" class="ghost" data-test="print"
                on:click=|_| { let _ = window().print(); }>"Print"</button>
        </Show>
    }
}
