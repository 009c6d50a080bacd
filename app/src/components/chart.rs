//! Charts as server-rendered SVG: a line over days and horizontal bars. Readable before the
//! wasm loads (every point and bar carries its value as an SVG `<title>`), with the value under
//! the pointer shown beside the title once hydrated, colours from the theme (light and dark),
//! and the same numbers as a table for screen readers and anyone who prefers one.
//!
//! One small module instead of a charting crate: the crates that render SVG (plotters) inline
//! their colours and fonts, which breaks dark mode and the page's type, carry no accessible
//! names, and add weight to the browser bundle for two chart shapes.

use crate::model::ChartPoint;
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

/// The value under the pointer, as the caption shows it.
fn hover_caption(points: &[ChartPoint], hovered: Option<usize>) -> String {
    hovered
        .and_then(|i| points.get(i))
        .map(|p| format!("{}: {}", p.label, p.shown))
        .unwrap_or_default()
}

/// The figures of a chart as a table (collapsed by default).
#[component]
fn ChartTable(title: String, column: String, points: Vec<ChartPoint>) -> impl IntoView {
    view! {
        <details class="chart-table">
            <summary>"Show the numbers"</summary>
            <div class="table-wrap" tabindex="0">
                <table class="data" aria-label=title>
                    <thead><tr><th>{column}</th><th class="num">"Value"</th></tr></thead>
                    <tbody>
                        {points.into_iter().map(|p| view! {
                            <tr><td>{p.label}</td><td class="num">{p.shown}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
    .into_any()
}

/// A line of one value per day, with the y axis from zero to the largest value.
#[component]
pub fn LineChart(
    /// The chart's heading (also its accessible name).
    title: String,
    /// What the y axis measures ("Spend (EUR)").
    y_label: String,
    points: Vec<ChartPoint>,
) -> impl IntoView {
    let hovered = RwSignal::new(None::<usize>);
    let n = points.len().max(1);
    let max_index = points
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| p.value)
        .map(|(i, _)| i);
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = move |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = move |v: i64| TOP + plot_h - plot_h * (v.max(0) as f64) / max;
    let line: String = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect::<Vec<_>>()
        .join(" ");
    let top_label = max_index
        .and_then(|i| points.get(i))
        .filter(|p| p.value > 0)
        .map(|p| p.shown.clone())
        .unwrap_or_default();
    // First, middle and last day under the axis.
    let mut ticks: Vec<usize> = vec![0, n / 2, n - 1];
    ticks.dedup();
    let tick_labels = ticks
        .into_iter()
        .filter_map(|i| points.get(i).map(|p| (x(i), p.label.clone())))
        .map(|(tx, label)| {
            view! { <text class="chart-axis-text" x=format!("{tx:.1}") y=HEIGHT - BOTTOM + 16.0 text-anchor="middle">{label}</text> }
        })
        .collect_view();
    let band = plot_w / n as f64;
    let marks = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let tip = format!("{}: {}", p.label, p.shown);
            view! {
                <g class="chart-mark" on:mouseenter=move |_| hovered.set(Some(i)) on:mouseleave=move |_| hovered.set(None)>
                    <rect class="chart-hit" x=format!("{:.1}", x(i) - band / 2.0) y=TOP width=format!("{band:.1}") height=plot_h>
                        <title>{tip.clone()}</title>
                    </rect>
                    <circle class="chart-point" cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(p.value)) r="3">
                        <title>{tip}</title>
                    </circle>
                </g>
            }
        })
        .collect_view();
    let caption_points = points.clone();
    view! {
        <figure class="chart">
            <figcaption>
                <span class="chart-title">{title.clone()}</span>
                <span class="chart-hover" aria-live="polite">{move || hover_caption(&caption_points, hovered.get())}</span>
            </figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title.clone() preserveAspectRatio="none" class="chart-svg">
                <line class="chart-axis" x1=LEFT y1=TOP x2=LEFT y2=TOP + plot_h/>
                <line class="chart-axis" x1=LEFT y1=TOP + plot_h x2=WIDTH - RIGHT y2=TOP + plot_h/>
                <text class="chart-axis-text" x=LEFT - 6.0 y=TOP + plot_h text-anchor="end" dominant-baseline="middle">"0"</text>
                <text class="chart-axis-text" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end" dominant-baseline="middle">{top_label}</text>
                <text class="chart-axis-label" x=12 y=TOP + plot_h / 2.0 text-anchor="middle" transform=format!("rotate(-90 12 {})", TOP + plot_h / 2.0)>{y_label.clone()}</text>
                <text class="chart-axis-label" x=LEFT + plot_w / 2.0 y=HEIGHT - 4.0 text-anchor="middle">"Day"</text>
                {tick_labels}
                <polyline class="chart-line" points=line fill="none"/>
                {marks}
            </svg>
            <ChartTable title=title column="Day".to_owned() points/>
        </figure>
    }
    .into_any()
}

/// Horizontal bars, largest first as given, each labelled with its name and value.
#[component]
pub fn BarChart(
    title: String,
    /// What the bars are ("Topic", "Channel").
    column: String,
    points: Vec<ChartPoint>,
) -> impl IntoView {
    if points.is_empty() {
        return view! {
            <figure class="chart">
                <figcaption><span class="chart-title">{title}</span></figcaption>
                <p class="muted">"Nothing in this period."</p>
            </figure>
        }
        .into_any();
    }
    let hovered = RwSignal::new(None::<usize>);
    const ROW: f64 = 26.0;
    const LABEL: f64 = 150.0;
    const VALUE: f64 = 96.0;
    let height = ROW * points.len() as f64 + 8.0;
    let max = points.iter().map(|p| p.value).max().unwrap_or(1).max(1) as f64;
    let span = WIDTH - LABEL - VALUE;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let top = 4.0 + ROW * i as f64;
            let w = (span * p.value.max(0) as f64 / max).max(1.0);
            let tip = format!("{}: {}", p.label, p.shown);
            let name: String = if p.label.chars().count() > 20 {
                format!("{}…", p.label.chars().take(19).collect::<String>())
            } else {
                p.label.clone()
            };
            view! {
                <g class="chart-mark" on:mouseenter=move |_| hovered.set(Some(i)) on:mouseleave=move |_| hovered.set(None)>
                    <title>{tip}</title>
                    <text class="chart-axis-text" x=LABEL - 8.0 y=top + ROW / 2.0 text-anchor="end" dominant-baseline="middle">{name}</text>
                    <rect class="chart-bar" x=LABEL y=top + 4.0 width=format!("{w:.1}") height=ROW - 8.0 rx="3"/>
                    <text class="chart-value" x=format!("{:.1}", LABEL + w + 6.0) y=top + ROW / 2.0 dominant-baseline="middle">{p.shown.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let caption_points = points.clone();
    view! {
        <figure class="chart">
            <figcaption>
                <span class="chart-title">{title.clone()}</span>
                <span class="chart-hover" aria-live="polite">{move || hover_caption(&caption_points, hovered.get())}</span>
            </figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=title.clone() class="chart-svg bars">
                {bars}
            </svg>
            <ChartTable title column points/>
        </figure>
    }
    .into_any()
}
