//! Admin: the mail outbox — every message Herald has sent or is about to send, newest first,
//! with its text (the development mail viewer; links in it work once).

use crate::{
    api::mail::list_mail, components::Pager, model::MailRow, pages::suspend_once, pages::utc,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn MailOutboxPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let mail = Resource::new(move || page.get(), list_mail);
    view! {
        <Title text="Mail outbox"/>
        <h1>"Mail outbox"</h1>
        <p class="lead">
            "Every email Herald sends, newest first. The links in them work once and set passwords or join accounts, "
            "so their secrets are shown only in development mail mode (HERALD_DEV_MAIL, on in the demo)."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match mail.await {
                    Ok(list) => {
                        let pages = list.pages();
                        let empty = list.rows.is_empty().then(|| view! {
                            <p class="muted">"No mail yet."</p>
                        });
                        view! {
                            {empty}
                            <div class="mail-list">
                                {list.rows.into_iter().map(|m| view! { <Message m/> }).collect_view()}
                            </div>
                            <Pager
                                page=list.page
                                pages
                                total=list.total
                                href=|p| format!("/admin/mail?page={p}")
                            />
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Message(m: MailRow) -> impl IntoView {
    let status = match (&m.sent_at, &m.last_error) {
        (Some(at), _) => format!("Sent {}", utc(*at)),
        (None, Some(error)) => format!("Not sent yet (last attempt failed: {error})"),
        (None, None) => "Waiting to be sent".to_owned(),
    };
    let heading = format!("mail-{}", m.id);
    let labelled_by = heading.clone();
    view! {
        <article class="card mail" aria-labelledby=labelled_by data-test="mail">
            <h2 id=heading>{m.subject}</h2>
            <dl class="facts">
                <dt>"To"</dt><dd data-test="mail-to">{m.recipient}</dd>
                <dt>"Kind"</dt><dd>{m.kind}</dd>
                <dt>"Written"</dt><dd>{utc(m.created_at)}</dd>
                <dt>"Status"</dt><dd>{status}</dd>
            </dl>
            <pre class="mail-body" tabindex="0">{m.body}</pre>
        </article>
    }
}
