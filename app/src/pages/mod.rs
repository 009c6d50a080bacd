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

use leptos::prelude::{RwSignal, Set, Suspend, WithUntracked};

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

/// What a visitor typed or ticked in a server-rendered form before the page hydrated.
///
/// The page is usable as a plain form before the wasm arrives, so a visitor may type into it
/// meanwhile. Hydration then sets every field bound with `prop:value` from its signal, wiping
/// what was typed, and leaves the others showing it while their signals keep the server's
/// values (a save would send other values than the page shows). A component that keeps a
/// form's state in signals starts them from this instead of from its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typed {
    /// The fields the form's plain submission would send (`FormData`: named, enabled, ticked
    /// when a checkbox), in the page's order.
    pub pairs: Vec<(String, String)>,
    /// The checkboxes without a name (so not in `pairs`) that are ticked, by id.
    pub ticked: Vec<String>,
}

impl Typed {
    /// The value of the field `key`, when sent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `signal` to the field `key` as typed, when sent and not what it holds; says
    /// whether it did.
    pub fn take(&self, key: &str, signal: RwSignal<String>) -> bool {
        match self
            .get(key)
            .filter(|value| signal.with_untracked(|held| held != value))
        {
            Some(value) => {
                signal.set(value.to_owned());
                true
            }
            None => false,
        }
    }
}

/// The attribute that marks a form rendered on the server (`data-served`): see
/// [`typed_before_hydration`]. A form built in the browser (after a client-side navigation)
/// never carries it.
pub fn served_mark() -> Option<&'static str> {
    cfg!(feature = "ssr").then_some("")
}

/// The form `form_id` as the visitor left it, while it is still the server's: its element
/// carries [`served_mark`], which is taken off once the page has hydrated (so a later page
/// built in the browser never reads an earlier page's form, which may still be in the
/// document while it renders). `None` on the server, for a form the browser built, and for
/// a page that has no such form. Call it while building the form's component, before the
/// view hydrates.
pub fn typed_before_hydration(form_id: &str) -> Option<Typed> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::{
            prelude::document,
            wasm_bindgen::JsCast,
            web_sys::{FormData, HtmlFormElement, HtmlInputElement, js_sys},
        };
        let form = document()
            .get_element_by_id(form_id)?
            .dyn_into::<HtmlFormElement>()
            .ok()?;
        if !form.has_attribute("data-served") {
            return None;
        }
        // Read by every component of the page that needs it in this pass; then it is done,
        // whatever happens below.
        {
            let form = form.clone();
            leptos::task::spawn_local(async move {
                let _ = form.remove_attribute("data-served");
            });
        }
        let data = FormData::new_with_form(&form).ok()?;
        let mut typed = Typed::default();
        for entry in js_sys::try_iter(&data).ok().flatten()?.flatten() {
            let entry: js_sys::Array = entry.unchecked_into();
            if let (Some(key), Some(value)) = (entry.get(0).as_string(), entry.get(1).as_string()) {
                typed.pairs.push((key, value));
            }
        }
        // The form's own controls and those outside it that name it (`form=`).
        let controls = form.elements();
        for i in 0..controls.length() {
            if let Some(input) = controls
                .item(i)
                .and_then(|c| c.dyn_into::<HtmlInputElement>().ok())
                && input.type_() == "checkbox"
                && input.name().is_empty()
                && input.checked()
                && !input.id().is_empty()
            {
                typed.ticked.push(input.id());
            }
        }
        Some(typed)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = form_id;
        None
    }
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

/// One server action behind a form on each row of a page (a credit form per account, an
/// appeal per decision), remembering which row sent its last request: the action forgets its
/// input once answered, and a list builds its rows again when it reloads.
pub struct RowAction<S, K>
where
    S: leptos::server_fn::ServerFn + 'static,
    S::Output: 'static,
    K: 'static,
{
    pub action: leptos::prelude::ServerAction<S>,
    sent: RwSignal<Option<K>>,
}

impl<S, K> Clone for RowAction<S, K>
where
    S: leptos::server_fn::ServerFn + 'static,
    S::Output: 'static,
    K: 'static,
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, K> Copy for RowAction<S, K>
where
    S: leptos::server_fn::ServerFn + 'static,
    S::Output: 'static,
    K: 'static,
{
}

impl<S, K> RowAction<S, K>
where
    S: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
    K: Copy + PartialEq + Send + Sync + 'static,
{
    /// Follows `action`, naming the row of each request by `row_of` its input.
    pub fn new(action: leptos::prelude::ServerAction<S>, row_of: fn(&S) -> K) -> Self {
        use leptos::prelude::{Effect, Get};
        let sent = RwSignal::new(None);
        Effect::new(move |_| {
            if let Some(input) = action.input().get() {
                sent.set(Some(row_of(&input)));
            }
        });
        Self { action, sent }
    }

    /// The action's last answer if `row` sent it. While a request is under way, the answer
    /// there is the previous request's, so none is given.
    pub fn answer_for(
        self,
        row: K,
    ) -> leptos::prelude::Signal<Option<Result<S::Output, S::Error>>> {
        use leptos::prelude::Get;
        let Self { action, sent } = self;
        leptos::prelude::Signal::derive(move || {
            (sent.get() == Some(row) && !action.pending().get())
                .then(|| action.value().get())
                .flatten()
        })
    }
}
