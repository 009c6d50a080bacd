//! The day × hour schedule grid: 7 rows of 24 toggles in the account's time zone, with a
//! whole-day toggle per row and presets.

use crate::model::Schedule;
use leptos::prelude::*;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Working hours: Monday to Friday, 09:00–18:00.
pub fn business_hours() -> Schedule {
    let mut schedule = Schedule::default();
    for day in 0..5 {
        for hour in 9..18 {
            schedule.set(day, hour, true);
        }
    }
    schedule
}

/// The grid for `schedule`; every change is a new schedule passed to `on_change`.
#[component]
pub fn ScheduleGrid(
    #[prop(into)] schedule: Signal<Schedule>,
    on_change: Callback<Schedule>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let toggle = move |day: usize, hour: u32| {
        move |_| {
            let mut next = schedule.get_untracked();
            next.set(day, hour, !next.get(day, hour));
            on_change.run(next);
        }
    };
    let toggle_day = move |day: usize| {
        move |_| {
            let mut next = schedule.get_untracked();
            let on = (0..24).all(|h| next.get(day, h));
            for hour in 0..24 {
                next.set(day, hour, !on);
            }
            on_change.run(next);
        }
    };
    let preset = move |value: Schedule| move |_| on_change.run(value);
    view! {
        <div class="schedule">
            <div class="schedule-presets" role="group" aria-label="Schedule presets">
                <button type="button" class="chip" disabled=disabled on:click=preset(Schedule::always())>"Every hour"</button>
                <button type="button" class="chip" disabled=disabled on:click=preset(business_hours())>"Weekdays 9–18"</button>
                <button type="button" class="chip" disabled=disabled on:click=preset(Schedule::default())>"Clear"</button>
                <span class="hint">{move || format!("{} hours a week", schedule.with(Schedule::hours))}</span>
            </div>
            <div class="schedule-scroll">
                <table class="schedule-grid" aria-label="Hours of the week">
                    <thead>
                        <tr>
                            <th scope="col"><span class="visually-hidden">"Day"</span></th>
                            {(0..24u32).map(|h| view! {
                                <th scope="col" class:minor=h % 6 != 0>{format!("{h:02}")}</th>
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {DAYS.iter().enumerate().map(|(day, name)| view! {
                            <tr>
                                <th scope="row">
                                    <button type="button" class="link-button" disabled=disabled
                                        title=format!("All of {name} on or off") on:click=toggle_day(day)>{*name}</button>
                                </th>
                                {(0..24u32).map(|hour| {
                                    let on = move || schedule.with(|s| s.get(day, hour));
                                    view! {
                                        <td>
                                            <button type="button" class="slot" class:on=on disabled=disabled
                                                aria-pressed=move || if on() { "true" } else { "false" }
                                                aria-label=format!("{name} {hour:02}:00")
                                                on:click=toggle(day, hour)></button>
                                        </td>
                                    }
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}
