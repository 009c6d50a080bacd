//! One component per route, grouped by domain.

pub mod account;
pub mod admin;
pub mod auth;
pub mod balance;
pub mod campaigns;
pub mod channels;
pub mod dashboard;
pub mod developers;
pub mod finance;
pub mod invite;
pub mod members;
pub mod moderation;
pub mod not_found;
pub mod notifications;
pub mod public;
pub mod reports;
pub mod security;
pub mod shell;
pub mod statement;
pub mod targeting;
pub mod verify;

use leptos::prelude::Suspend;

/// A UTC time as shown in tables ("2026-11-25 09:41 UTC").
pub fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Scrolls to the element with `id` once it is shown, when the page's address names it
/// (`…#id`). The browser looks for the anchor when the page opens, before data loaded after
/// hydration or a client-side navigation has put the element there; call this from the
/// component that renders it.
pub fn scroll_here_when_linked(id: &'static str) {
    #[cfg(feature = "hydrate")]
    leptos::prelude::Effect::new(move |_| {
        use leptos::prelude::{document, window};
        if window().location().hash().ok().as_deref() == Some(&format!("#{id}"))
            && let Some(element) = document().get_element_by_id(id)
        {
            element.scroll_into_view();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Moves the keyboard's focus to the input with `id` once it is shown: for a step that opens
/// in place (a confirmation asking for a password), where the person's next move is to type.
/// A full page load focuses it too, once hydrated.
pub fn focus_when_shown(id: &'static str) {
    #[cfg(feature = "hydrate")]
    leptos::prelude::Effect::new(move |_| {
        use leptos::{prelude::document, wasm_bindgen::JsCast, web_sys::HtmlInputElement};
        if let Some(input) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        {
            let _ = input.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The `Suspend` of a page's `<Suspense>` or `<Transition>`: the view built from its loaded
/// data, built once per request on the server.
///
/// On the server, `<Suspense>` walks its children before rendering them, to find the resources
/// they read (leptos issue 4688): it calls the view closure and polls the `Suspend` it returns,
/// and when the data are already there the view is built in that walk — and again when a
/// second walk checks that nothing more is pending, and again to render. For the signed-in
/// shell that meant the whole page, whose resources each started their loads: every page's
/// server functions ran two or three times per request (the dashboard's 13 statements were 25,
/// `/balance` sent its data three times). Pending once first, on the server only, leaves the
/// walks with nothing built; the render, which awaits, builds it once. In the browser the data
/// came with the page and nothing waits: the view hydrates at once.
pub fn suspend_once<T>(view: impl Future<Output = T> + Send + 'static) -> Suspend<T> {
    #[cfg(feature = "ssr")]
    let view = async move {
        tokio::task::yield_now().await;
        view.await
    };
    Suspend::new(view)
}
