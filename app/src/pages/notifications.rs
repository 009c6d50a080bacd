//! The signed-in user's notifications in the current account: review decisions, appeals and
//! balance warnings, newest first. Opening the page marks what it shows as read.

use crate::{
    api::moderation::{MarkNotificationsRead, my_notifications},
    model::Viewer,
    pages::{shell::UnreadCount, suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| my_notifications());
    let mark = ServerAction::<MarkNotificationsRead>::new();
    // The account whose notifications the page shows (a switch elsewhere must not mark
    // another account's).
    let account = use_context::<Viewer>().and_then(|v| v.current_account);
    let unread = use_context::<UnreadCount>();
    // In the browser, once the list is shown: mark it read and clear the header's count.
    Effect::new(move |_| {
        if let Some(Ok(list)) = list.get()
            && let Some(up_to) = list.items.iter().find(|n| !n.read).map(|n| n.id)
            && let Some(account) = account
        {
            mark.dispatch(MarkNotificationsRead { account, up_to });
        }
    });
    Effect::new(move |_| {
        if matches!(mark.value().get(), Some(Ok(())))
            && let Some(UnreadCount(count)) = unread
        {
            count.try_set(0);
        }
    });
    view! {
        <Title text="Notifications"/>
        <h1>"Notifications"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match list.await {
                    Ok(list) => {
                        if list.items.is_empty() {
                            return view! { <div class="empty-state"><p>"No notifications yet. Review decisions, appeals and balance warnings appear here."</p></div> }.into_any();
                        }
                        view! {
                            <ul class="notifications">
                                {list.items.into_iter().map(|n| view! {
                                    <li class="notification" class:unread=!n.read data-test="notification">
                                        <a href=n.link.clone()><strong>{n.title.clone()}</strong></a>
                                        {(!n.body.is_empty()).then(|| view! { <p>{n.body.clone()}</p> })}
                                        <p class="muted small">{utc(n.created_at)}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
