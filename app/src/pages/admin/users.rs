//! Admin: users with their platform roles; grant and revoke roles.

use crate::{
    api::admin::{ChangeRole, list_users},
    components::{FormError, Pager, form_error},
    model::{PlatformRole, UserRow, urlencode},
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let change = ServerAction::<ChangeRole>::new();
    let users = Resource::new(
        move || (search.get(), page.get(), change.version().get()),
        |(search, page, _)| list_users(search, page),
    );
    view! {
        <Title text="Users & roles"/>
        <h1>"Users & roles"</h1>
        <p class="lead">"Grant platform roles to staff. Every change is recorded in the audit log."</p>
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <label for="user-search" class="visually-hidden">"Search by email"</label>
            <input id="user-search" type="search" name="q" placeholder="Search by email" value=move || search.get()/>
            <button type="submit">"Search"</button>
        </Form>
        <FormError error=form_error(change.value().into())/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match users.await {
                    Ok(list) => {
                        let q = search.get_untracked();
                        let pages = list.pages();
                        view! {
                            <div class="table-wrap" tabindex="0">
                                <table class="cards-on-phone">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Email"</th>
                                            <th scope="col">"Signed up"</th>
                                            <th scope="col">"Ad accounts"</th>
                                            <th scope="col">"Platform roles"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|user| view! { <UserLine user change/> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pager
                                page=list.page
                                pages
                                total=list.total
                                href=move |p| format!("/admin/users?q={}&page={p}", urlencode(&q))
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
fn UserLine(user: UserRow, change: ServerAction<ChangeRole>) -> impl IntoView {
    // Nobody grants themselves a role (the server refuses it): on one's own line, a role not
    // held is shown, not offered.
    let own = use_context::<crate::model::Viewer>().is_some_and(|v| v.user_id == user.id);
    let toggles = PlatformRole::ALL
        .into_iter()
        .map(|role| {
            let has = user.staff_roles.contains(&role);
            if own && !has {
                return view! {
                    <span class="chip locked" title="Another admin has to grant you this role">{role.label()}</span>
                }
                .into_any();
            }
            view! {
                <ActionForm action=change attr:class="inline">
                    <input type="hidden" name="input[user_id]" value=user.id.0/>
                    <input type="hidden" name="input[role]" value=format!("{role:?}")/>
                    <input type="hidden" name="input[grant]" value=(!has).to_string()/>
                    <button
                        type="submit"
                        class=if has { "chip on" } else { "chip" }
                        aria-pressed=has.to_string()
                        title=if has { format!("Revoke {}", role.label()) } else { format!("Grant {}", role.label()) }
                    >
                        {role.label()}
                    </button>
                </ActionForm>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <tr>
            <td>{user.email}</td>
            <td data-label="Signed up">{utc(user.created_at)}</td>
            <td data-label="Ad accounts">{user.account_count}</td>
            <td data-label="Platform roles">
                <div class="chips">{toggles}</div>
            </td>
        </tr>
    }
}
