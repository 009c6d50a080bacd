//! Campaign targeting: the controls on the left, the live forecast on the right. The whole
//! workspace is one GET form mirrored in the URL, so it works by plain submission before the
//! wasm loads; once hydrated it re-forecasts as the user types (debounced), and an answer that
//! arrives after a newer request was made is dropped.

use crate::{
    api::catalog::{get_forecast, list_channels, load_targeting_page},
    components::{ForecastCommand, ForecastPanel, compact, count},
    error::{AppError, FieldErrors},
    model::{
        ChannelFilter, ChannelId, ChannelRow, Forecast, MAX_EXCLUDED, MAX_INCLUDED, Page,
        TargetingForm, TargetingOptions, TargetingPageData,
    },
    pages::{served_mark, suspend_once, typed_before_hydration},
};
use leptos::{ev::MouseEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::{collections::HashMap, time::Duration};

/// The targeting workspace's form (one per page): the builder's name field and Save buttons
/// outside it belong to it through their `form` attribute.
pub const FORM_ID: &str = "targeting-form";
/// Milliseconds of quiet typing before the forecast is asked again.
const DEBOUNCE_MS: u64 = 250;
/// Channels shown per include/exclude search.
const SEARCH_LIMIT: usize = 8;

#[component]
pub fn TargetingPage() -> impl IntoView {
    let query = use_query_map();
    let (start, find) = query.with_untracked(|q| {
        (
            TargetingForm::from_pairs(q.into_iter().map(|(k, v)| (k.as_ref(), v))),
            q.get("find").unwrap_or_default(),
        )
    });
    let data = Resource::new(
        || (),
        move |_| load_targeting_page(start.clone(), find.clone()),
    );
    view! {
        <Title text="Targeting & forecast"/>
        <h1>"Targeting & forecast"</h1>
        <p class="lead">
            "Choose channels by topic, language and size — never by people — and see what your bid buys per day before you launch."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
            {move || suspend_once(async move {
                let start = query.with_untracked(|q| {
                    TargetingForm::from_pairs(q.into_iter().map(|(k, v)| (k.as_ref(), v)))
                });
                let find = query.with_untracked(|q| q.get("find").unwrap_or_default());
                match data.await {
                    Ok(TargetingPageData { options, forecast, found }) => view! {
                        <TargetingWorkspace options start forecast found find/>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A list of choices (topics or languages) as the page's checkboxes show it: `held` keeps its
/// order and the values without a checkbox (`offered` lists those with one: a stored language
/// with no eligible channel has none), loses those unticked, and gains the newly ticked ones
/// in the page's order. Unchanged ticks give `held` back as it was.
fn ticked(held: &[String], shown: &[String], offered: &[String]) -> Vec<String> {
    let mut list: Vec<String> = held
        .iter()
        .filter(|value| !offered.contains(value) || shown.contains(value))
        .cloned()
        .collect();
    for value in shown {
        if !list.contains(value) {
            list.push(value.clone());
        }
    }
    list
}

async fn search(text: String) -> Option<Page<ChannelRow>> {
    if text.trim().is_empty() {
        return None;
    }
    list_channels(ChannelFilter {
        search: text,
        eligible_only: true,
        ..ChannelFilter::default()
    })
    .await
    .ok()
}

/// Keeps the address bar in step with the form, without a navigation.
fn replace_url(form: &TargetingForm) {
    #[cfg(feature = "hydrate")]
    if let Ok(history) = window().history() {
        let url = format!(
            "{}?{}",
            window().location().pathname().unwrap_or_default(),
            form.to_query()
        );
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// The targeting form and its forecast. Reused by the campaign builder, which passes its own
/// form signal (`bind`), the field errors of its last save (`extra_errors`), and its further
/// settings (`children`, shown under the bid).
#[component]
pub fn TargetingWorkspace(
    options: TargetingOptions,
    start: TargetingForm,
    forecast: Result<Forecast, AppError>,
    found: Option<Page<ChannelRow>>,
    find: String,
    /// The form's state, when the caller keeps it (else one is made from `start`).
    #[prop(optional)]
    bind: Option<RwSignal<TargetingForm>>,
    /// Errors from elsewhere (a save), shown beside the fields this form owns.
    #[prop(optional, into)]
    extra_errors: Option<Signal<FieldErrors>>,
    /// Keep the address bar in step with the form (the targeting page does; the builder,
    /// whose URL names a campaign, does not).
    #[prop(default = true)]
    sync_url: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let form = bind.unwrap_or_else(|| RwSignal::new(start));
    // What the visitor typed or ticked before the page hydrated (see `Typed`), applied below
    // once the page has hydrated: hydration adopts the server's page as it was sent.
    let typed = typed_before_hydration(FORM_ID).map(|typed| {
        let find = typed.get("find").map(str::to_owned);
        let form =
            TargetingForm::from_pairs(typed.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let offered = |list: &[(String, String, u64)]| -> Vec<String> {
            list.iter().map(|(value, ..)| value.clone()).collect()
        };
        let offered = (offered(&options.topics), offered(&options.languages));
        (form, find, offered)
    });
    let extra = extra_errors.unwrap_or_else(|| Signal::derive(FieldErrors::default));
    let errors = RwSignal::new(match &forecast {
        Err(AppError::Invalid(fields)) => fields.clone(),
        _ => FieldErrors::default(),
    });
    let failure = RwSignal::new(match &forecast {
        Err(AppError::Invalid(_)) | Ok(_) => None,
        Err(e) => Some(e.to_string()),
    });
    let mut seen: HashMap<ChannelId, ChannelRow> = HashMap::new();
    if let Ok(f) = &forecast {
        for row in f.included.iter().chain(&f.excluded) {
            seen.insert(row.id, row.clone());
        }
    }
    for row in found.iter().flat_map(|p| &p.rows) {
        seen.insert(row.id, row.clone());
    }
    let known = RwSignal::new(seen);
    // The account's currency, once a forecast has named it: a bid typed with its sign reads.
    let currency = StoredValue::new(forecast.as_ref().ok().map(|f| f.currency.clone()));
    let last = RwSignal::new(forecast.ok());
    let pending = RwSignal::new(false);
    let latest = StoredValue::new(0u64);
    let search_text = RwSignal::new(find);
    let results = RwSignal::new(found.map(|p| p.rows));
    let search_seq = StoredValue::new(0u64);

    // Each request gets a number; only the newest one may update the page.
    let refresh = move |delay: u64| {
        let n = latest.get_value() + 1;
        latest.set_value(n);
        let current = form.get_untracked();
        if sync_url {
            replace_url(&current);
        }
        match current.parse_in(currency.get_value().as_deref()) {
            Err(fields) => {
                errors.set(fields);
                pending.set(false);
            }
            Ok(request) => {
                errors.set(FieldErrors::default());
                pending.set(true);
                // The workspace may be gone by the time these run (a navigation): then the
                // stored sequence number is gone too, and nothing is updated.
                set_timeout(
                    move || {
                        if latest.try_get_value() != Some(n) {
                            return;
                        }
                        spawn_local(async move {
                            let answer = get_forecast(request).await;
                            if latest.try_get_value() != Some(n) {
                                return;
                            }
                            pending.set(false);
                            match answer {
                                Ok(f) => {
                                    known.update(|k| {
                                        for row in f.included.iter().chain(&f.excluded) {
                                            k.insert(row.id, row.clone());
                                        }
                                    });
                                    failure.set(None);
                                    currency.set_value(Some(f.currency.clone()));
                                    last.set(Some(f));
                                }
                                Err(AppError::Invalid(fields)) => errors.set(fields),
                                Err(e) => failure.set(Some(e.to_string())),
                            }
                        });
                    },
                    Duration::from_millis(delay),
                );
            }
        }
    };
    let edit = move |change: Box<dyn FnOnce(&mut TargetingForm)>, delay: u64| {
        form.update(|f| {
            change(f);
            f.page = 0;
        });
        refresh(delay);
    };
    let text_input = move |set: fn(&mut TargetingForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            edit(Box::new(move |f| set(f, value)), DEBOUNCE_MS);
        }
    };
    let toggle = move |list: fn(&mut TargetingForm) -> &mut Vec<String>, value: String| {
        move |_: leptos::ev::Event| {
            let value = value.clone();
            edit(
                Box::new(move |f| {
                    let items = list(f);
                    if let Some(i) = items.iter().position(|v| *v == value) {
                        items.remove(i);
                    } else {
                        items.push(value);
                    }
                }),
                0,
            );
        }
    };
    let pick = move |include: bool, row: ChannelRow| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            let id = row.id;
            known.update(|k| {
                k.insert(id, row.clone());
            });
            edit(
                Box::new(move |f| {
                    let (add, other) = if include {
                        (&mut f.include, &mut f.exclude)
                    } else {
                        (&mut f.exclude, &mut f.include)
                    };
                    other.retain(|c| *c != id);
                    if !add.contains(&id) {
                        add.push(id);
                    }
                }),
                0,
            );
        }
    };
    let drop_channel = move |include: bool, id: ChannelId| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            edit(
                Box::new(move |f| {
                    if include {
                        &mut f.include
                    } else {
                        &mut f.exclude
                    }
                    .retain(|c| *c != id);
                }),
                0,
            );
        }
    };
    let run_search = move |text: String| {
        let n = search_seq.get_value() + 1;
        search_seq.set_value(n);
        set_timeout(
            move || {
                if search_seq.try_get_value() != Some(n) {
                    return;
                }
                spawn_local(async move {
                    let page = search(text).await;
                    if search_seq.try_get_value() == Some(n) {
                        results.set(page.map(|p| p.rows));
                    }
                });
            },
            Duration::from_millis(DEBOUNCE_MS),
        );
    };
    let on_search = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        search_text.set(text.clone());
        run_search(text);
    };
    // Typed before the page hydrated: the form takes it, and the forecast and the search are
    // asked for what the page now shows.
    if let Some((typed, typed_find, (topics, languages))) = typed {
        Effect::new(move |_| {
            untrack(|| {
                let now = form.get_untracked();
                let mut next = TargetingForm {
                    topics: ticked(&now.topics, &typed.topics, &topics),
                    languages: ticked(&now.languages, &typed.languages, &languages),
                    page: now.page,
                    ..typed.clone()
                };
                if next != now {
                    // As any edit does: the list starts again at its first page.
                    next.page = 0;
                    form.set(next);
                    refresh(0);
                }
                if let Some(text) = typed_find
                    .clone()
                    .filter(|text| search_text.with_untracked(|shown| shown != text))
                {
                    search_text.set(text.clone());
                    run_search(text);
                }
            });
        });
    }
    let on_command =
        Callback::new(
            move |(command, row): (ForecastCommand, ChannelRow)| match command {
                ForecastCommand::Sort(sort) => edit(Box::new(move |f| f.sort = sort), 0),
                ForecastCommand::Page(page) => {
                    form.update(|f| f.page = page);
                    refresh(0);
                }
                ForecastCommand::Exclude(id) => {
                    known.update(|k| {
                        k.insert(id, row.clone());
                    });
                    edit(
                        Box::new(move |f| {
                            f.include.retain(|c| *c != id);
                            if !f.exclude.contains(&id) {
                                f.exclude.push(id);
                            }
                        }),
                        0,
                    );
                }
            },
        );

    let error = move |field: &'static str| {
        move || {
            errors
                .with(|e| e.get(field).map(str::to_owned))
                .or_else(|| extra.with(|e| e.get(field).map(str::to_owned)))
        }
    };
    let invalid = move |field: &'static str| {
        move || errors.with(|e| e.get(field).is_some()) || extra.with(|e| e.get(field).is_some())
    };
    let value = move |get: fn(&TargetingForm) -> String| move || form.with(get);
    let filters_off = move || form.with(|f| !f.include.is_empty());
    let TargetingOptions {
        topics,
        languages,
        min_subscribers,
        ..
    } = options;

    // A grid of checkboxes for one list of the form (topics or languages).
    let choices = move |legend: &'static str,
                        name: &'static str,
                        field: &'static str,
                        list: fn(&mut TargetingForm) -> &mut Vec<String>,
                        read: fn(&TargetingForm) -> &Vec<String>,
                        options: Vec<(String, String, u64)>| {
        let error_id = format!("{field}-error");
        let described_by = error_id.clone();
        // The list scrolls, so what is ticked may be out of sight: say it above the list.
        let names: Vec<(String, String)> = options
            .iter()
            .map(|(value, label, _)| (value.clone(), label.clone()))
            .collect();
        let ticked = move || {
            let picked: Vec<String> = form.with(|f| {
                names
                    .iter()
                    .filter(|(value, _)| read(f).contains(value))
                    .map(|(_, label)| label.clone())
                    .collect()
            });
            if picked.is_empty() {
                "None ticked: any.".to_owned()
            } else {
                format!("Ticked: {}.", picked.join(", "))
            }
        };
        view! {
            <fieldset class="choices" aria-describedby=described_by>
                <legend>{legend} <span class="muted">"(any when none is ticked)"</span></legend>
                <p class="hint ticked" data-test=format!("{field}-ticked")>{ticked}</p>
                <div class="choice-grid">
                    {options.into_iter().map(|(value, label, n)| {
                        let checked = { let value = value.clone(); move || form.with(|f| read(f).contains(&value)) };
                        view! {
                            <label class="choice">
                                <input type="checkbox" name=name value=value.clone() checked=checked
                                    on:change=toggle(list, value.clone())/>
                                <span>{label}</span>
                                <span class="count">{compact(n as i64)}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <p class="field-error" id=error_id role="alert">{error(field)}</p>
            </fieldset>
        }
    };

    let chips = move |include: bool| {
        move || {
            let ids = form.with(|f| {
                if include {
                    f.include.clone()
                } else {
                    f.exclude.clone()
                }
            });
            let names = known.get();
            ids.into_iter()
                .map(|id| {
                    let label = names
                        .get(&id)
                        .map_or_else(|| format!("channel #{id}"), |r| format!("@{}", r.handle));
                    let (keep, drop) = if include { ("inc", "drop_inc") } else { ("exc", "drop_exc") };
                    view! {
                        <li class="chip selected">
                            <input type="hidden" name=keep value=id.to_string()/>
                            <span>{label.clone()}</span>
                            <button type="submit" name=drop value=id.to_string() class="chip-remove"
                                aria-label=format!("Remove {label}") on:click=drop_channel(include, id)>
                                "×"
                            </button>
                        </li>
                    }
                })
                .collect_view()
        }
    };

    view! {
        <form method="get" action="" id=FORM_ID data-served=served_mark() class="targeting" on:submit=move |ev| {
            ev.prevent_default();
            refresh(0);
        }>
            // Enter in a text field submits with the first submit button: make it this one.
            <button type="submit" class="visually-hidden" tabindex="-1" aria-hidden="true">
                "Update forecast"
            </button>
            <div class="targeting-controls">
                <section class="card">
                    <h2>"Channels"</h2>
                    <p class="hint">
                        "Only public facts about channels are used. Leave everything empty to run on every eligible channel (active, at least "
                        {count(min_subscribers)} " subscribers)."
                    </p>
                    <div class:muted-block=filters_off>
                        {choices("Topics ", "topic", "topics", |f| &mut f.topics, |f| &f.topics, topics)}
                        {choices("Languages ", "lang", "languages", |f| &mut f.languages, |f| &f.languages, languages)}
                        <div class="field-row">
                            <div class="field" class:invalid=invalid("min_subscribers")>
                                <label for="t-min-subs">"Minimum subscribers"</label>
                                <input id="t-min-subs" name="min_subs" inputmode="numeric" placeholder="e.g. 10k"
                                    value=value(|f| f.min_subscribers.clone()) aria-describedby="t-min-subs-error"
                                    on:input=text_input(|f, v| f.min_subscribers = v)/>
                                <p class="field-error" id="t-min-subs-error" role="alert">{error("min_subscribers")}</p>
                            </div>
                            <div class="field" class:invalid=invalid("max_subscribers")>
                                <label for="t-max-subs">"Maximum subscribers"</label>
                                <input id="t-max-subs" name="max_subs" inputmode="numeric" placeholder="no limit"
                                    value=value(|f| f.max_subscribers.clone()) aria-describedby="t-max-subs-error"
                                    on:input=text_input(|f, v| f.max_subscribers = v)/>
                                <p class="field-error" id="t-max-subs-error" role="alert">{error("max_subscribers")}</p>
                            </div>
                            <div class="field" class:invalid=invalid("min_avg_views")>
                                <label for="t-min-views">"Minimum average views"</label>
                                <input id="t-min-views" name="min_views" inputmode="numeric" placeholder="any"
                                    value=value(|f| f.min_avg_views.clone()) aria-describedby="t-min-views-error"
                                    on:input=text_input(|f, v| f.min_avg_views = v)/>
                                <p class="field-error" id="t-min-views-error" role="alert">{error("min_avg_views")}</p>
                            </div>
                        </div>
                        <p class="hint">"Numbers accept 12000, 12,000, 12k or 1.5M."</p>
                    </div>
                </section>
                <section class="card">
                    <h2>"Specific channels"</h2>
                    <p class="hint">
                        {format!("Include up to {MAX_INCLUDED} channels to run only on them: the topic, language and size filters above are then not used. Exclude up to {MAX_EXCLUDED} channels you never want to appear in.")}
                    </p>
                    <div class="field">
                        <label for="t-find">"Find a channel"</label>
                        <div class="inline">
                            <input id="t-find" name="find" type="search" placeholder="handle or title" autocomplete="off"
                                value=move || search_text.get() on:input=on_search/>
                            <button type="submit" class="secondary">"Search"</button>
                        </div>
                    </div>
                    {move || results.get().map(|rows| {
                        let empty = rows.is_empty();
                        view! {
                            <ul class="search-results" aria-label="Matching channels">
                                {rows.into_iter().take(SEARCH_LIMIT).map(|row| {
                                    let id = row.id.to_string();
                                    let include_label = format!("Include @{}", row.handle);
                                    let exclude_label = format!("Exclude @{}", row.handle);
                                    view! {
                                        <li>
                                            <span class="handle">{format!("@{}", row.handle)}</span>
                                            <span class="sub">{format!("{} · {} · {} subscribers", row.title, row.language, compact(row.subscribers))}</span>
                                            <span class="actions">
                                                <button type="submit" name="add_inc" value=id.clone() class="link-button" aria-label=include_label on:click=pick(true, row.clone())>"Include"</button>
                                                <button type="submit" name="add_exc" value=id class="link-button" aria-label=exclude_label on:click=pick(false, row.clone())>"Exclude"</button>
                                            </span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {empty.then(|| view! { <p class="muted">"No eligible channel matches that search."</p> })}
                        }
                    })}
                    <h3>"Included"</h3>
                    <ul class="chips" data-test="included">{chips(true)}</ul>
                    <p class="field-error" role="alert">{error("include")}</p>
                    <h3>"Excluded"</h3>
                    <ul class="chips" data-test="excluded">{chips(false)}</ul>
                    <p class="field-error" role="alert">{error("exclude")}</p>
                </section>
                <section class="card">
                    <h2>"Bid & budget"</h2>
                    <div class="field-row">
                        <div class="field" class:invalid=invalid("bid")>
                            <label for="t-bid">"CPM bid (per 1,000 views)"</label>
                            <input id="t-bid" name="bid" inputmode="decimal" value=value(|f| f.bid.clone())
                                aria-describedby="t-bid-error" on:input=text_input(|f, v| f.bid = v)/>
                            <p class="field-error" id="t-bid-error" role="alert">{error("bid")}</p>
                        </div>
                        <div class="field" class:invalid=invalid("daily_budget")>
                            <label for="t-daily">"Daily budget (optional)"</label>
                            <input id="t-daily" name="daily" inputmode="decimal" placeholder="no daily limit"
                                value=value(|f| f.daily_budget.clone()) aria-describedby="t-daily-hint t-daily-error"
                                on:input=text_input(|f, v| f.daily_budget = v)/>
                            <p class="hint" id="t-daily-hint">
                                "Spread over the scheduled hours left in your local day: each hour may use its share of what is left today."
                            </p>
                            <p class="field-error" id="t-daily-error" role="alert">{error("daily_budget")}</p>
                        </div>
                    </div>
                    <input type="hidden" name="sort" value=move || form.with(|f| f.sort.code())/>
                    {sync_url.then(|| view! {
                        <div class="actions">
                            <button type="submit" class="primary">"Update forecast"</button>
                            <a href="/targeting" class="button secondary">"Reset"</a>
                        </div>
                    })}
                </section>
                {children.map(|children| children())}
            </div>
            <div class="targeting-forecast">
                {move || failure.get().map(|message| view! { <p class="banner error" role="alert">{message}</p> })}
                {move || pending.get().then(|| view! { <p class="updating" role="status">"Updating…"</p> })}
                {move || match last.get() {
                    Some(forecast) => view! {
                        <ForecastPanel forecast stale=Signal::derive(move || pending.get() || !errors.with(FieldErrors::is_empty)) on_command/>
                    }.into_any(),
                    None => view! {
                        <p class="muted">"Correct the highlighted fields to see the forecast."</p>
                    }.into_any(),
                }}
            </div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::ticked;

    fn list(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn ticks_read_back_keep_the_stored_order_and_what_has_no_checkbox() {
        let offered = list(&["en", "ru", "de"]);
        // Stored sorted, shown in the page's order: unchanged.
        assert_eq!(
            ticked(&list(&["de", "en"]), &list(&["en", "de"]), &offered),
            list(&["de", "en"])
        );
        // A stored language with no checkbox stays; an unticked one goes; a new tick comes last.
        assert_eq!(
            ticked(&list(&["de", "en", "xx"]), &list(&["en", "ru"]), &offered),
            list(&["en", "xx", "ru"])
        );
        assert_eq!(ticked(&list(&["en"]), &[], &offered), Vec::<String>::new());
    }
}
