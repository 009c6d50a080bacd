//! A "Copy" button beside a value the user pastes elsewhere: an account's payment reference
//! (into a bank's transfer form), a secret or a link shown only once. The value itself is
//! selectable text (one click selects all of it, `user-select: all` in the style sheet), so
//! before the page is interactive, or where the browser refuses the clipboard (it is offered
//! only on HTTPS and loopback pages), copying by hand still works; the button appears once the
//! page is interactive and says whether the copy worked.
use leptos::prelude::*;

#[component]
pub fn CopyButton(
    /// The text put on the clipboard.
    #[prop(into)]
    text: String,
    /// What is copied, for screen readers: the button is announced as "Copy {what}".
    what: &'static str,
) -> impl IntoView {
    let interactive = RwSignal::new(false);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| interactive.set(true));
    let copied = RwSignal::new(None::<bool>);
    let text = StoredValue::new(text);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            // Cleared first, so that copying again is announced again.
            copied.set(None);
            copied.set(Some(write_clipboard(&text.get_value()).await));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (text, copied);
    };
    let status = move || match copied.get() {
        Some(true) => "Copied.",
        Some(false) => "Your browser did not allow copying: select the text and copy it.",
        None => "",
    };
    view! {
        <Show when=move || interactive.get()>
            <span class="copy">
                <button type="button" class="small" aria-label=format!("Copy {what}") on:click=copy>
                    "Copy"
                </button>
                <span class="muted small" role="status">{status}</span>
            </span>
        </Show>
    }
}

/// Puts `text` on the clipboard; false where the browser has no clipboard for this page (an
/// insecure origin) or refuses it.
#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str) -> bool {
    use wasm_bindgen::JsCast;
    use web_sys::js_sys::Reflect;
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    // `navigator.clipboard` is undefined on an insecure origin: calling it would throw.
    let clipboard = match Reflect::get(&navigator, &"clipboard".into()) {
        Ok(value) if !value.is_undefined() && !value.is_null() => value,
        _ => return false,
    };
    let clipboard: web_sys::Clipboard = clipboard.unchecked_into();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .is_ok()
}
