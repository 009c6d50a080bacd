//! `/developers/delivery-api`: the delivery API explained for integrators, in words and
//! examples, beside the machine-readable OpenAPI document.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeliveryApiGuidePage() -> impl IntoView {
    view! {
        <Title text="Delivery API"/>
        <crate::pages::public::PublicFrame>
        <article class="guide">
            <h1>"Delivery API"</h1>
            <p class="lead">
                "For delivery networks: when a channel publishes a post that carries a sponsored message, ask Herald which ad it shows, "
                "then report the views and clicks it gets. The machine-readable description is the "
                <a href="/api/delivery/v1/openapi.json">"OpenAPI 3 document"</a> "."
            </p>
            <h2>"Keys"</h2>
            <p>
                "Herald admins create keys under Administration → Delivery API keys (or on the server: "
                <code>"server delivery-key create NAME"</code> "). Send it on every request as "
                <code>"Authorization: Bearer hd_…"</code> ". No cookies; each key has a rate limit (429 with Retry-After)."
            </p>
            <h2>"1. Ask for an ad"</h2>
            <pre class="code" tabindex="0">{r#"POST /api/delivery/v1/decisions
{"channel": "tech_daily", "slot_id": "post-1842"}

200 {"decision_id": 17, "ad": {"text": "…", "button": "Open", "url": "https://…"},
     "ad_version_id": 5, "price_cpm": 2500000, "currency": "EUR",
     "held": 3125000, "expires_at": "2026-12-02T11:00:00Z"}
204 (nothing wins this slot)"#}</pre>
            <ul>
                <li>"Money is in micro-units: 1 EUR = 1,000,000. " <code>"price_cpm"</code> " is what the winner pays per thousand views."</li>
                <li>"The highest CPM bid among matching campaigns wins and pays the second-highest bid (or the platform minimum when alone). Equal bids are drawn by lot per slot."</li>
                <li><code>"held"</code> " is reserved from the advertiser's balance before you get the answer: the channel's average views at the price. Views are charged from it; views beyond it are free."</li>
                <li>"The same " <code>"slot_id"</code> " again returns the same answer, so a retry never serves twice. A channel carries at most the platform's ad slots per day (UTC); after that the answer is 204."</li>
            </ul>
            <h2>"2. Report views and clicks"</h2>
            <pre class="code" tabindex="0">{r#"POST /api/delivery/v1/events
{"events": [{"event_id": "post-1842-v1", "decision_id": 17,
             "views": 1200, "clicks": 9, "at": "2026-12-01T11:05:00Z"}]}

200 {"results": [{"event_id": "post-1842-v1", "status": 200,
                  "outcome": "accepted", "posted": 3000000, "error": null}]}"#}</pre>
            <ul>
                <li>"Views and clicks are increments since your last event for the decision, not totals. Up to 1,000 events per request."</li>
                <li>"Each event has its own result: " <code>"accepted"</code> ", " <code>"replayed"</code> " (the id was already counted with the same body: the first answer, nothing counted again) or " <code>"rejected"</code> " with a status (404 unknown decision, 409 the id was used with another body, 422 invalid)."</li>
                <li>"A batch commits as one transaction: on a 5xx or a timeout nothing was counted and the whole batch may be sent again."</li>
                <li>"Send views until the hold expires (" <code>"expires_at"</code> "); then the unused rest goes back to the advertiser."</li>
            </ul>
            <h2>"Errors"</h2>
            <p>"Every error is JSON naming the problem:"</p>
            <pre class="code" tabindex="0">{r#"{"error": {"code": "invalid_input", "message": "A slot id has 1 to 128 characters.", "field": "slot_id"}}"#}</pre>
            <p>
                "Codes: " <code>"missing_key"</code> ", " <code>"invalid_key"</code> " (401), " <code>"malformed_json"</code> " (400), "
                <code>"unknown_channel"</code> " (404), " <code>"conflict"</code> " (409), " <code>"batch_too_large"</code> " (413), "
                <code>"invalid_input"</code> " (422), " <code>"rate_limited"</code> " (429), " <code>"busy"</code> " (503, retry)."
            </p>
            <h2>"Channels"</h2>
            <p><code>"GET /api/delivery/v1/channels?after=0&limit=1000"</code> " lists the eligible catalog (handle, average views, posts per day), a page at a time."</p>
        </article>
        </crate::pages::public::PublicFrame>
    }
}
