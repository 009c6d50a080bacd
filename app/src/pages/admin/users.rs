//! Admin: users with their platform roles; grant and revoke roles.

use crate::{
    api::admin::{ChangeRole, list_users},
    components::{Field, FormError, Pager, field_error, form_error},
    model::{PlatformRole, UserRow, urlencode},
    pages::{suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    components::{A, Form},
    hooks::{use_navigate, use_query_map},
};

/// A grant waiting for the admin's password, from the address (`?grant=12.finance`): the
/// chip of a role not held leads there, so the step works before the page's code has loaded.
fn pending_grant(value: &str) -> Option<(i64, PlatformRole)> {
    let (user, code) = value.split_once('.')?;
    let role = PlatformRole::ALL.into_iter().find(|r| r.code() == code)?;
    Some((user.parse().ok()?, role))
}

/// This page's address for a search and page, with no grant pending.
fn list_href(search: &str, page: u64) -> String {
    let mut href = String::from("/admin/users");
    let mut sep = '?';
    if !search.is_empty() {
        href.push_str(&format!("?q={}", urlencode(search)));
        sep = '&';
    }
    if page > 0 {
        href.push_str(&format!("{sep}page={page}"));
    }
    href
}

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
    let pending = Memo::new(move |_| query.read().get("grant").and_then(|g| pending_grant(&g)));
    // Revokes (one click) and grants (the confirmation step) answer apart: a revoke elsewhere
    // neither closes an open step nor shows in it.
    let change = ServerAction::<ChangeRole>::new();
    let grant = ServerAction::<ChangeRole>::new();
    let users = Resource::new(
        move || {
            let version = change.version().get() + grant.version().get();
            (search.get(), page.get(), version)
        },
        |(search, page, _)| list_users(search, page),
    );
    // A grant made: leave its confirmation step (the address would offer it again once the
    // role is revoked).
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(grant.value().get(), Some(Ok(()))) && pending.get_untracked().is_some() {
            navigate(
                &list_href(&search.get_untracked(), page.get_untracked()),
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            );
        }
    });
    // Another grant asked for, or the step cancelled: the last refusal is not about it.
    Effect::new(move |before: Option<Option<(i64, PlatformRole)>>| {
        let now = pending.get();
        let refused = matches!(grant.value().get_untracked(), Some(Err(_)));
        if before.is_some_and(|b| b != now) && refused {
            grant.value().set(None);
        }
        now
    });
    let done = move || {
        matches!(change.value().get(), Some(Ok(()))) || matches!(grant.value().get(), Some(Ok(())))
    };
    let ctx = Lines {
        change,
        grant,
        pending,
        search,
        page,
    };
    view! {
        <Title text="Users & roles"/>
        <h1>"Users & roles"</h1>
        <p class="lead">
            "Grant platform roles to staff. Granting one asks for your password; revoking one does not. "
            "Every change is recorded in the audit log."
        </p>
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <label for="user-search" class="visually-hidden">"Search by email"</label>
            <input id="user-search" type="search" name="q" placeholder="Search by email" value=move || search.get()/>
            <button type="submit">"Search"</button>
        </Form>
        <FormError error=form_error(change.value().into())/>
        <FormError error=form_error(grant.value().into())/>
        <Show when=done>
            <p class="banner success" role="status">"Roles changed. The change is in the audit log."</p>
        </Show>
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
                                        {list.rows.into_iter().map(|user| view! { <UserLine user ctx/> }).collect_view()}
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

/// What every user line needs from the page.
#[derive(Clone, Copy)]
struct Lines {
    change: ServerAction<ChangeRole>,
    grant: ServerAction<ChangeRole>,
    pending: Memo<Option<(i64, PlatformRole)>>,
    search: Memo<String>,
    page: Memo<u64>,
}

#[component]
fn UserLine(user: UserRow, ctx: Lines) -> impl IntoView {
    let Lines {
        change,
        grant,
        pending,
        search,
        page,
    } = ctx;
    // Nobody grants themselves a role (the server refuses it): on one's own line, a role not
    // held is shown, not offered.
    let own = use_context::<crate::model::Viewer>().is_some_and(|v| v.user_id == user.id);
    let toggles = PlatformRole::ALL
        .into_iter()
        .map(|role| {
            let has = user.staff_roles.contains(&role);
            // Named as the chip reads (a role of this user); the title says what a click does.
            let chip_label = format!("{} for {}", role.label(), user.email);
            if own && !has {
                return view! {
                    <span class="chip locked" title="Another admin has to grant you this role">{role.label()}</span>
                }
                .into_any();
            }
            if has {
                // Revoking narrows rights: one click.
                return view! {
                    <ActionForm action=change attr:class="inline">
                        <input type="hidden" name="input[user_id]" value=user.id.0/>
                        <input type="hidden" name="input[role]" value=format!("{role:?}")/>
                        <input type="hidden" name="input[grant]" value="false"/>
                        <button type="submit" class="chip on" aria-pressed="true" title=format!("Revoke {}", role.label())
                            aria-label=chip_label>
                            {role.label()}
                        </button>
                    </ActionForm>
                }
                .into_any();
            }
            // Granting widens them: the chip leads to a step that asks for the password.
            let asked = move || pending.get() == Some((user.id.0, role));
            view! {
                <Form method="GET" action="" noscroll=true attr:class="inline">
                    <input type="hidden" name="q" value=move || search.get()/>
                    <input type="hidden" name="page" value=move || page.get()/>
                    <input type="hidden" name="grant" value=format!("{}.{}", user.id.0, role.code())/>
                    <button
                        type="submit"
                        class="chip"
                        class:asked=asked
                        aria-expanded=move || asked().to_string()
                        aria-controls=move || asked().then_some("grant-confirm")
                        title=format!("Grant {}", role.label())
                        aria-label=chip_label
                    >
                        {role.label()}
                    </button>
                </Form>
            }
            .into_any()
        })
        .collect_view();
    let held = user.staff_roles.clone();
    let email = user.email.clone();
    let confirm = move || {
        let (id, role) = pending.get()?;
        (id == user.id.0 && !own && !held.contains(&role)).then(|| {
            let cancel = list_href(&search.get_untracked(), page.get_untracked());
            view! { <GrantConfirm user_id=id role email=email.clone() grant cancel/> }
        })
    };
    view! {
        <tr>
            <td>{user.email}</td>
            <td data-label="Signed up">{utc(user.created_at)}</td>
            <td data-label="Ad accounts">{user.account_count}</td>
            <td data-label="Platform roles">
                <div class="chips">{toggles}</div>
                {confirm}
            </td>
        </tr>
    }
}

/// The second step of a grant: the admin types their password again.
#[component]
fn GrantConfirm(
    user_id: i64,
    role: PlatformRole,
    email: String,
    grant: ServerAction<ChangeRole>,
    cancel: String,
) -> impl IntoView {
    crate::pages::focus_when_shown("grant-role-password");
    view! {
        <ActionForm action=grant attr:id="grant-confirm" attr:class="grant-confirm stack" attr:novalidate=true>
            <p>"Grant " <strong>{role.label()}</strong> " to " <strong>{email}</strong> "?"</p>
            <input type="hidden" name="input[user_id]" value=user_id/>
            <input type="hidden" name="input[role]" value=format!("{role:?}")/>
            <input type="hidden" name="input[grant]" value="true"/>
            <Field
                id="grant-role-password"
                name="password"
                label="Your password"
                kind="password"
                autocomplete="current-password"
                hint="Asked again for every grant, so a session left open cannot make anyone staff."
                required=true
                error=field_error(grant.value().into(), "password")
            />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || grant.pending().get()>
                    {format!("Grant {}", role.label())}
                </button>
                <A href=cancel scroll=false>"Cancel"</A>
            </div>
        </ActionForm>
    }
}
