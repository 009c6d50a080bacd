//! Previous / next links for paginated lists; plain links, so they work without the wasm.

use leptos::prelude::*;

/// "Page 2 of 7" with previous/next links. `href(page)` builds the link for a zero-based page.
#[component]
pub fn Pager(
    page: u64,
    pages: u64,
    total: u64,
    href: impl Fn(u64) -> String + Send + Sync + 'static,
) -> impl IntoView {
    let prev = (page > 0).then(|| href(page - 1));
    let next = (page + 1 < pages).then(|| href(page + 1));
    view! {
        <nav class="pager" aria-label="Pagination">
            {match prev {
                Some(link) => view! { <a href=link rel="prev">"← Previous"</a> }.into_any(),
                None => view! { <span class="disabled">"← Previous"</span> }.into_any(),
            }}
            <span class="pager-status">
                {format!("Page {} of {} · {} in all", page + 1, pages, total)}
            </span>
            {match next {
                Some(link) => view! { <a href=link rel="next">"Next →"</a> }.into_any(),
                None => view! { <span class="disabled">"Next →"</span> }.into_any(),
            }}
        </nav>
    }
}
