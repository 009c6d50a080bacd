//! A `<details>` whose contents exist only while it is open, once the page has hydrated.
//!
//! A page of closed `<details>`, each holding a form, otherwise holds every form's fields at
//! once, hidden: their labels repeat ("Credit amount (EUR)" on every account's card), so a
//! reader that finds a field by its label (a screen reader's form list, a test) finds several.
//! Before hydration, and without the wasm, the contents are served as plain HTML, so the
//! element works as an ordinary `<details>`; once hydrated, what a closed one held is dropped
//! and is built again when it is opened.

use leptos::prelude::*;

#[component]
pub fn Disclosure(
    /// The element's id, unique on the page and the same each time the page is built: the
    /// element is found by it (a list built again reuses the elements it had, open or not).
    id: String,
    /// What the `<summary>` shows (a closure building it, or its text).
    #[prop(into)]
    summary: ViewFnOnce,
    #[prop(optional)] class: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    // Shown while the server renders and while the page hydrates (the served HTML holds the
    // contents), then exactly while the element is open.
    let shown = RwSignal::new(true);
    let follow = {
        let id = id.clone();
        move || {
            #[cfg(feature = "hydrate")]
            {
                use leptos::wasm_bindgen::JsCast;
                let details = document()
                    .get_element_by_id(&id)
                    .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlDetailsElement>().ok());
                if let Some(details) = &details {
                    // A list built again in another order hands this element over from
                    // another one (another account's form, open, with what was typed): it
                    // starts closed. The mark is the DOM's own, which rebuilding leaves alone.
                    let built_for = details.get_attribute("data-built-for");
                    if built_for.as_deref().is_some_and(|other| other != id) {
                        details.set_open(false);
                    }
                    let _ = details.set_attribute("data-built-for", &id);
                }
                shown.set(details.is_some_and(|details| details.open()));
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = &id;
        }
    };
    // Once built (after hydration, or after a list is built again): follow the element.
    Effect::new({
        let follow = follow.clone();
        move |_| follow()
    });
    view! {
        <details id=id class=class on:toggle=move |_| follow()>
            <summary>{summary.run()}</summary>
            {move || shown.get().then(|| children())}
        </details>
    }
}
