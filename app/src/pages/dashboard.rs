//! The dashboard: the current ad account at a glance and what the viewer's roles allow.

use crate::{
    api::dashboard::get_dashboard,
    model::{
        AccountGlance, Dashboard, DecisionRow, FinanceGlance, LiveCampaigns, MoneyGlance,
        ReviewGlance, SPEND_RATE_DAYS, Verdict, Viewer,
    },
    pages::{suspend_once, utc, verify::ConfirmBanner},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DashboardPage() -> impl IntoView {
    // One server function for the whole page: the account's card and what matters now.
    let now = Resource::new(|| (), |()| get_dashboard());
    let email = expect_context::<Viewer>().email;
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <p class="lead">{format!("Signed in as {email}.")}</p>
        <ConfirmBanner/>
        <Transition fallback=|| view! { <p class="muted">"Loading what matters now…"</p> }>
            {move || suspend_once(async move {
                let viewer = expect_context::<Viewer>();
                match now.await {
                    Ok(mut d) => {
                        let account = d.account.take();
                        view! { <Now d/> <Cards viewer account/> }.into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Cards(viewer: Viewer, account: Option<AccountGlance>) -> impl IntoView {
    let staff: Vec<_> = viewer.staff_roles.iter().map(|r| r.label()).collect();
    let nothing = account.is_none() && staff.is_empty();
    view! {
        <div class="cards">
            {account.map(|a| view! {
                <section class="card" aria-labelledby="account-card">
                    <h2 id="account-card">"Ad account"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd class="account-title">{a.name}</dd>
                        <dt>"Your role"</dt><dd>{a.my_role.label()}</dd>
                        <dt>"Currency"</dt><dd>{a.currency}</dd>
                        <dt>"Time zone"</dt><dd>{a.time_zone}</dd>
                        <dt>"Members"</dt><dd>{a.members}</dd>
                        <dt>"Since"</dt><dd>{utc(a.created_at)}</dd>
                    </dl>
                    <a class="button" href="/account">"Account & members"</a>
                </section>
            })}
            {(!staff.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="staff-card">
                    <h2 id="staff-card">"Platform staff"</h2>
                    <p>"Your platform roles: " <strong>{staff.join(", ")}</strong></p>
                    <p class="muted small">
                        "Every staff action is recorded in the audit trail, which is never edited or deleted."
                    </p>
                </section>
            })}
            {nothing.then(|| view! {
                <section class="card">
                    <h2>"No ad account"</h2>
                    <p>"You are not a member of any ad account. Ask an account owner to invite you."</p>
                </section>
            })}
        </div>
    }
}

/// The parts of the dashboard the viewer's roles allow: staff work (the review queue, finance)
/// first, then the current ad account's campaigns and money.
#[component]
fn Now(d: Dashboard) -> impl IntoView {
    let empty =
        d.live.is_none() && d.money.is_none() && d.moderation.is_none() && d.finance.is_none();
    (!empty).then(|| {
        view! {
            <div class="cards now">
                {d.moderation.map(|r| view! { <Review r staff=true/> })}
                {d.finance.map(|f| view! { <Finance f/> })}
                {d.live.map(|l| view! { <Live l/> })}
                {d.money.map(|m| view! { <Money m/> })}
                {d.own_review.map(|r| view! { <Review r staff=false/> })}
            </div>
        }
    })
}

#[component]
fn Live(l: LiveCampaigns) -> impl IntoView {
    let currency = l.currency.clone();
    let summary = format!(
        "{} running · {} committed today",
        l.running,
        l.today.display(&currency)
    );
    let empty = l.rows.is_empty();
    view! {
        <section class="card wide" aria-labelledby="live-card">
            <h2 id="live-card">"Live campaigns"</h2>
            <p class="muted">{summary}</p>
            {if empty {
                view! { <p>"No campaign is running. Launch one from Campaigns."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0">
                    <table class="table compact cards-on-phone">
                        <caption class="visually-hidden">"Running campaigns, largest spend today first"</caption>
                        <thead><tr>
                            <th scope="col">"Campaign"</th>
                            <th scope="col" class="num">"Today"</th>
                            <th scope="col" class="num">"Daily budget"</th>
                            <th scope="col">"Delivery"</th>
                        </tr></thead>
                        <tbody>
                            {l.rows.into_iter().map(|r| {
                                let used = r.used_percent();
                                let allowance = r.allowance.map_or_else(|| "No daily cap".to_owned(), |a| a.display(&currency));
                                view! {
                                    <tr>
                                        <td><a href=format!("/campaigns/{}", r.id.0)>{r.name.clone()}</a></td>
                                        <td class="num" data-label="Today">
                                            {r.today.display(&currency)}
                                            {used.map(|p| view! {
                                                <meter class="meter" min="0" max="100" value=p.to_string()
                                                    title=format!("{p}% of today's budget")
                                                    aria-label=format!("{p}% of today's budget")></meter>
                                            })}
                                        </td>
                                        <td class="num" data-label="Daily budget">{allowance}</td>
                                        <td data-label="Delivery">{r.state.label()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            }}
            <a class="button" href="/campaigns">"All campaigns"</a>
            " "
            <a class="button" href="/reports">"Reports"</a>
        </section>
    }
}

#[component]
fn Money(m: MoneyGlance) -> impl IntoView {
    let c = m.currency.clone();
    // Nothing to spend and nothing held: a new account's first step.
    let empty = m.available.0 <= 0 && m.held.0 == 0 && !m.low_balance;
    let urge = m.low_balance || empty;
    let runway = match m.days_left {
        Some(0) => "Less than a day".to_owned(),
        Some(1) => "About 1 day".to_owned(),
        Some(n) => format!("About {n} days"),
        None => "No spend lately".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="money-card">
            <h2 id="money-card">"Balance"</h2>
            {m.low_balance.then(|| {
                let why = match m.below_alert {
                    Some(alert) => format!(
                        "The balance is below your low-balance alert of {}: top it up to keep campaigns delivering.",
                        alert.display(&c)
                    ),
                    None => "The balance is too low for campaigns to win slots: top it up to keep them delivering.".to_owned(),
                };
                view! { <p class="banner warning">{why}</p> }
            })}
            {empty.then(|| view! { <p data-test="no-funds">"Campaigns spend from a prepaid balance: add funds by bank transfer before they can deliver."</p> })}
            <dl class="facts">
                <dt>"Available"</dt><dd data-test="available">{m.available.display(&c)}</dd>
                <dt>"Held for won slots"</dt><dd>{m.held.display(&c)}</dd>
                <dt>{format!("Spend per day ({SPEND_RATE_DAYS}-day average)")}</dt><dd>{m.daily_rate.round_to_cent().display(&c)}</dd>
                <dt>"Lasts at that rate"</dt><dd data-test="days-left">{runway}</dd>
            </dl>
            <p class="actions">
                <a class="button" href="/balance">"Balance & history"</a>
                <a class="button" class:primary=urge href="/balance#add-funds">"Add funds"</a>
            </p>
        </section>
    }
}

#[component]
fn Review(r: ReviewGlance, staff: bool) -> impl IntoView {
    let (title, id) = if staff {
        ("Review queue", "queue-card")
    } else {
        ("In review", "review-card")
    };
    let waiting = format!(
        "{} waiting · {} appeal{}",
        r.waiting,
        r.appeals,
        if r.appeals == 1 { "" } else { "s" }
    );
    let oldest = r
        .oldest
        .map(|at| format!("Oldest waiting since {}", utc(at)));
    view! {
        <section class="card" aria-labelledby=id>
            <h2 id=id>{title}</h2>
            <p><strong>{waiting}</strong></p>
            {oldest.map(|o| view! { <p class="muted small">{o}</p> })}
            <h3>"Recent decisions"</h3>
            {if r.recent.is_empty() {
                view! { <p class="muted">"None yet."</p> }.into_any()
            } else {
                view! { <ul class="decisions">{r.recent.into_iter().map(|d| decision(d, !staff)).collect_view()}</ul> }.into_any()
            }}
            {staff.then(|| view! { <a class="button" href="/moderation">"Open the queue"</a> })}
        </section>
    }
}

/// A decision: what was decided (for the account's own members, a link to it), in which
/// campaign, and when.
fn decision(d: DecisionRow, link: bool) -> impl IntoView {
    let outcome = match d.outcome {
        Verdict::Approved => "badge ok",
        Verdict::Declined => "badge warn",
    };
    let appeal = if d.appeal { " (appeal)" } else { "" };
    let (subject, href) = match &d.ad {
        Some(ad) => (
            format!("Ad “{}” (version {}){appeal}", ad.title, ad.version),
            format!("/campaigns/{}/ads/{}", d.campaign.0, ad.id.0),
        ),
        None => (
            format!("{}{appeal}", d.kind.label()),
            format!("/campaigns/{}", d.campaign.0),
        ),
    };
    let context = format!(
        " in “{}”{}",
        d.campaign_name,
        d.account_name
            .map(|a| format!(" · {a}"))
            .unwrap_or_default()
    );
    view! {
        <li>
            <span class=outcome>{d.outcome.label()}</span>
            " "
            {if link {
                view! { <a href=href>{subject}</a> }.into_any()
            } else {
                view! { <span>{subject}</span> }.into_any()
            }}
            <span>{context}</span>
            <span class="muted small">{format!(" — {}", utc(d.decided_at))}</span>
        </li>
    }
}

#[component]
fn Finance(f: FinanceGlance) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="finance-card">
            <h2 id="finance-card">"Finance"</h2>
            {f.bank_details_changed.map(|(change, text)| view! {
                <div class="banner warning" data-test="bank-details-changed">
                    <p>{format!(
                        "The bank details advertisers pay to were changed on {} by {}. Check them against Herald's bank account: from now on every advertiser sends their transfers here.",
                        utc(change.at),
                        change.by.unwrap_or_else(|| "a deleted user".into()),
                    )}</p>
                    {if text.is_empty() {
                        view! { <p>"They are withdrawn: advertisers see no bank details."</p> }.into_any()
                    } else {
                        view! { <p class="bank-details">{text}</p> }.into_any()
                    }}
                </div>
            })}
            <dl class="facts">
                <dt>"Accounts out of funds"</dt><dd>{f.out_of_funds}</dd>
                <dt>"Below their low-balance alert"</dt><dd>{f.low}</dd>
                <dt>"Credits in the last 7 days"</dt><dd>{f.recent_credits}</dd>
                <dt>"Waiting for your approval"</dt>
                <dd data-test="awaiting-approval">
                    {if f.awaiting_you > 0 {
                        view! { <a href="/finance#waiting-requests">{f.awaiting_you}</a> }.into_any()
                    } else {
                        view! { "0" }.into_any()
                    }}
                </dd>
                <dt>"Corrections waiting for your approval"</dt>
                <dd data-test="corrections-awaiting">
                    {if f.corrections_awaiting_you > 0 {
                        view! {
                            <a href="/finance/corrections#waiting-corrections">{f.corrections_awaiting_you}</a>
                        }.into_any()
                    } else {
                        view! { "0" }.into_any()
                    }}
                </dd>
                <dt>"Payouts waiting for your approval"</dt>
                <dd data-test="payouts-awaiting">
                    {if f.payouts_awaiting_you > 0 {
                        view! {
                            <a href="/finance/payables#waiting-payouts">{f.payouts_awaiting_you}</a>
                        }.into_any()
                    } else {
                        view! { "0" }.into_any()
                    }}
                </dd>
            </dl>
            <a class="button" href="/finance">"Credit an account"</a>
        </section>
    }
}
