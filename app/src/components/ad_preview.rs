//! The sponsored message as readers see it at the end of a channel, the live character
//! counter, and the list of pre-check findings: the same view everywhere an ad is shown.

use crate::model::{AD_TEXT_AMBER_LEFT, AD_TEXT_MAX, AdCopy, Finding, chars_left};
use leptos::prelude::*;

/// The message as it will appear: a "Sponsored" label, the text, and the button.
#[component]
pub fn AdPreview(
    #[prop(into)] copy: Signal<AdCopy>,
    /// The channel title shown above the message (the preview of one matching channel).
    #[prop(default = "Your ad here")]
    channel: &'static str,
) -> impl IntoView {
    let text = move || copy.with(|c| c.text.clone());
    let button = move || {
        copy.with(|c| {
            let label = c.button_label.trim();
            if label.is_empty() {
                "Button".to_owned()
            } else {
                label.to_owned()
            }
        })
    };
    let host = move || copy.with(|c| destination_host(&c.destination_url));
    view! {
        <figure class="ad-preview" aria-label="Preview of the sponsored message">
            <div class="ad-channel">
                <span class="ad-channel-avatar" aria-hidden="true"></span>
                <span>{channel}</span>
            </div>
            <div class="ad-bubble">
                <span class="ad-sponsored">"Sponsored"</span>
                <p class="ad-text" data-test="preview-text">
                    {move || {
                        let t = text();
                        if t.trim().is_empty() { "Your message…".to_owned() } else { t }
                    }}
                </p>
                <span class="ad-button" data-test="preview-button">{button}</span>
                <span class="ad-host">{host}</span>
            </div>
            <figcaption class="hint">"Text only, one paragraph, as it appears after a channel post."</figcaption>
        </figure>
    }
}

/// The host a reader sees under the button (`acme.coffee`, `t.me`).
fn destination_host(url: &str) -> String {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// "42 / 160": turns amber when few characters are left and red when over.
#[component]
pub fn CharCounter(#[prop(into)] text: Signal<String>, id: &'static str) -> impl IntoView {
    let left = move || text.with(|t| chars_left(t));
    let tone = move || {
        let left = left();
        if left < 0 {
            "counter over"
        } else if left <= AD_TEXT_AMBER_LEFT as i64 {
            "counter amber"
        } else {
            "counter"
        }
    };
    view! {
        <span class=tone id=id aria-live="polite" data-test="counter">
            {move || format!("{} / {AD_TEXT_MAX}", AD_TEXT_MAX as i64 - left())}
            {move || {
                let left = left();
                if left < 0 {
                    format!(" · {} over", -left)
                } else {
                    format!(" · {left} left")
                }
            }}
        </span>
    }
}

/// The pre-check findings, or a note that the ad passes them.
#[component]
pub fn Findings(#[prop(into)] findings: Signal<Vec<Finding>>) -> impl IntoView {
    view! {
        <div class="findings" aria-live="polite" data-test="findings">
            {move || {
                let list = findings.get();
                if list.is_empty() {
                    view! { <p class="finding ok">"Passes every pre-check."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {list.into_iter().map(|f| view! {
                                <li class="finding">
                                    <span class="finding-field">{field_label(f.field)}</span>
                                    {f.message}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </div>
    }
}

fn field_label(field: &str) -> &'static str {
    match field {
        "text" => "Text",
        "button_label" => "Button",
        "destination_url" => "Link",
        _ => "Ad",
    }
}

#[cfg(test)]
mod tests {
    use super::destination_host;

    #[test]
    fn hosts_are_shown_without_scheme_or_path() {
        assert_eq!(
            destination_host("https://Acme.Coffee/club?x=1"),
            "acme.coffee"
        );
        assert_eq!(destination_host("t.me/market_notes"), "t.me");
        assert_eq!(destination_host(""), "");
    }
}
