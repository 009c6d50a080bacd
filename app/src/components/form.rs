//! Form building blocks: a labelled field with its error tied to the input, the form-level
//! error banner, and helpers that read field errors out of a server action's result.

use crate::error::AppError;
use leptos::prelude::*;

/// The message for `field` in an action's latest result, if it failed validation there.
pub fn field_error<T: Send + Sync + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        result.with(|r| match r {
            Some(Err(AppError::Invalid(fields))) => fields.get(field).map(str::to_owned),
            _ => None,
        })
    })
}

/// Empties `form` once `result` is a success, for the next entry (a refusal keeps what was
/// typed, to be corrected). Browser only: the server renders the form empty.
pub fn reset_on_success<T: Send + Sync + 'static>(
    form: NodeRef<leptos::html::Form>,
    result: Signal<Option<Result<T, AppError>>>,
) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if result.with(|r| matches!(r, Some(Ok(_))))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (form, result);
}

/// The message for the whole form: a `form` field error, or any failure that is not a
/// field error (throttling, conflicts, network).
pub fn form_error<T: Send + Sync + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        result.with(|r| match r {
            Some(Err(AppError::Invalid(fields))) => fields.get("form").map(str::to_owned),
            Some(Err(other)) => Some(other.to_string()),
            _ => None,
        })
    })
}

/// A labelled input whose error (if any) is shown beneath it and announced with it.
#[component]
pub fn Field(
    /// Element id and the base of the error's id.
    id: &'static str,
    /// The form field name the server function expects (e.g. `input[email]`).
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if !hint.is_empty() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A banner for errors that belong to the whole form.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || error.get().is_some()>
            <div class="banner error" role="alert">{move || error.get()}</div>
        </Show>
    }
}

/// A labelled `<select>` over fixed options, with its hint and error tied to it.
#[component]
pub fn SelectField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    options: &'static [&'static str],
    #[prop(into)] selected: String,
    #[prop(optional)] hint: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = if hint.is_empty() {
        error_id.clone()
    } else {
        format!("{hint_id} {error_id}")
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <select
                id=id
                name=name
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
            >
                {options
                    .iter()
                    .map(|option| {
                        view! { <option value=*option selected=*option == selected>{*option}</option> }
                    })
                    .collect_view()}
            </select>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}
