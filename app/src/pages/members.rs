//! The members part of the account page: the member list (owners change roles and remove),
//! leaving, and — for owners — inviting and the open invitations.

use crate::{
    api::members::{
        ChangeMemberRole, InviteMember, LeaveAccount, RemoveMember, RevokeInvitation,
        list_invitations,
    },
    components::{Field, FormError, field_error, form_error},
    model::{
        AccountId, AccountPermission, AccountRole, InvitationLink, Member, PendingInvitation,
        Viewer,
    },
    pages::{auth::use_auth, suspend_once, utc},
};
use leptos::prelude::*;

/// The server actions of the members section; the account page reloads after each.
#[derive(Clone, Copy)]
pub struct MemberActions {
    pub invite: ServerAction<InviteMember>,
    pub revoke: ServerAction<RevokeInvitation>,
    pub change_role: ServerAction<ChangeMemberRole>,
    pub remove: ServerAction<RemoveMember>,
    pub leave: ServerAction<LeaveAccount>,
    /// The account this page shows; every form names it (a switch in another tab or a removal
    /// then makes the write "not found" instead of landing in another account).
    pub account: Option<AccountId>,
}

impl Default for MemberActions {
    fn default() -> Self {
        Self {
            invite: ServerAction::new(),
            revoke: ServerAction::new(),
            change_role: ServerAction::new(),
            remove: ServerAction::new(),
            // Shared with the header: leaving changes the viewer's accounts.
            leave: use_auth().leave_account,
            account: use_context::<Viewer>().and_then(|v| v.current_account),
        }
    }
}

impl MemberActions {
    /// Moves on whenever one of the actions completes (a resource key).
    pub fn version(&self) -> usize {
        self.invite.version().get()
            + self.revoke.version().get()
            + self.change_role.version().get()
            + self.remove.version().get()
            + self.leave.version().get()
    }
}

/// The hidden `account` field of a members form.
fn account_field(account: Option<AccountId>) -> impl IntoView {
    view! { <input type="hidden" name="account" value=account.map(|a| a.0)/> }
}

/// Whether the signed-in viewer owns the current account (known before any data loads).
pub fn viewer_is_owner() -> bool {
    use_context::<Viewer>()
        .and_then(|v| v.current_membership().map(|m| m.role))
        .is_some_and(|role| role.allows(AccountPermission::ManageAccount))
}

/// The member list with the controls the viewer's role allows.
#[component]
pub fn MembersSection(
    members: Vec<Member>,
    my_role: AccountRole,
    actions: MemberActions,
) -> impl IntoView {
    let owner = my_role.allows(AccountPermission::ManageAccount);
    let me = use_context::<Viewer>().map(|v| v.user_id);
    let rows = members
        .into_iter()
        .map(|m| {
            let mine = Some(m.user_id) == me;
            view! { <MemberRow member=m mine owner actions/> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <p class="muted small">
                "Owners manage the account; managers edit campaigns and ads; analysts read; billing sees money pages. "
                "A member who leaves, or becomes an analyst or billing member, ends the report share links they made."
            </p>
            {(my_role == crate::model::AccountRole::Billing).then(|| view! {
                <p class="muted small" data-test="billing-members-note">"As a billing member you see the account's owners and yourself."</p>
            })}
            <FormError error=form_error(actions.change_role.value().into())/>
            <FormError error=form_error(actions.remove.value().into())/>
            <div class="table-wrap" tabindex="0">
                <table class="members cards-on-phone">
                    <thead>
                        <tr>
                            <th scope="col">"Email"</th>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Member since"</th>
                            {owner.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <LeaveForm action=actions.leave account=actions.account/>
        </section>
    }
    .into_any()
}

#[component]
fn MemberRow(member: Member, mine: bool, owner: bool, actions: MemberActions) -> impl IntoView {
    let id = member.user_id.0;
    let role_label = format!("Role of {}", member.email);
    let remove_label = format!("Remove {}", member.email);
    let role = if owner {
        view! {
            <ActionForm action=actions.change_role attr:class="role-form">
                {account_field(actions.account)}
                <input type="hidden" name="input[user_id]" value=id/>
                <label for=format!("role-{id}") class="visually-hidden">
                    {role_label}
                </label>
                <RoleSelect id=format!("role-{id}") name="input[role]" selected=member.role/>
                <button type="submit" class="small">"Save"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span class="badge">{member.role.label()}</span> }.into_any()
    };
    let remove = (owner && !mine).then(|| {
        view! {
            <ActionForm action=actions.remove attr:class="inline">
                {account_field(actions.account)}
                <input type="hidden" name="user_id" value=id/>
                <button type="submit" class="small danger" title=remove_label>
                    "Remove"
                </button>
            </ActionForm>
        }
    });
    view! {
        <tr data-member=member.email.clone()>
            <td>
                {member.email.clone()}
                {mine.then(|| view! { " " <span class="badge muted">"you"</span> })}
            </td>
            <td data-label="Role">{role}</td>
            <td class="nowrap" data-label="Member since">{utc(member.joined_at)}</td>
            {owner.then(|| view! { <td class="num">{remove}</td> })}
        </tr>
    }
    .into_any()
}

/// A `<select>` of the account roles.
#[component]
fn RoleSelect(
    #[prop(into)] id: String,
    name: &'static str,
    selected: AccountRole,
) -> impl IntoView {
    view! {
        <select id=id name=name>
            {AccountRole::ALL
                .into_iter()
                .map(|role| view! {
                    <option value=format!("{role:?}") selected=role == selected>{role.label()}</option>
                })
                .collect_view()}
        </select>
    }
}

#[component]
fn LeaveForm(action: ServerAction<LeaveAccount>, account: Option<AccountId>) -> impl IntoView {
    view! {
        <ActionForm action attr:class="leave-form">
            {account_field(account)}
            <FormError error=form_error(action.value().into())/>
            <button type="submit" class="small danger" id="leave-account">"Leave account"</button>
            <span class="muted small">
                "You lose access at once. An account's only owner cannot leave."
            </span>
        </ActionForm>
    }
}

/// Owners: the invitation form, the link of the invitation just made, and the open ones.
/// Rendered outside the account's reloads, so a refused form keeps what was typed.
#[component]
pub fn InviteSection(actions: MemberActions) -> impl IntoView {
    let invitations = Resource::new(move || actions.version(), |_| list_invitations());
    let invite = actions.invite;
    let result: Signal<_> = invite.value().into();
    let link = move || match invite.value().get() {
        Some(Ok(link)) => Some(view! { <NewLink link/> }),
        _ => None,
    };
    view! {
        <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite a member"</h2>
            <p class="muted small">
                "We email the invitation to that address. It works once, for that address, for 7 days; the person joining must confirm the address, which the emailed link does."
            </p>
            <ActionForm action=invite attr:class="invite-form" attr:novalidate=true>
                {account_field(actions.account)}
                <FormError error=form_error(result)/>
                <div class="field-row">
                    <Field
                        id="invite-email"
                        name="input[email]"
                        label="Email"
                        kind="email"
                        required=true
                        error=field_error(result, "email")
                    />
                    <div class="field">
                        <label for="invite-role">"Role"</label>
                        <RoleSelect id="invite-role" name="input[role]" selected=AccountRole::Manager/>
                    </div>
                    <div class="field submit-field">
                        <span class="label" aria-hidden="true">"\u{a0}"</span>
                        <button type="submit" class="primary" disabled=move || invite.pending().get()>
                            "Create invitation link"
                        </button>
                    </div>
                </div>
            </ActionForm>
            {link}
            <h3 class="subhead">"Open invitations"</h3>
            <FormError error=form_error(actions.revoke.value().into())/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || suspend_once(async move {
                    match invitations.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted small" id="no-invitations">"No open invitations."</p>
                        }
                        .into_any(),
                        Ok(list) => view! { <InvitationTable list revoke=actions.revoke account=actions.account/> }.into_any(),
                        Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// The link of the invitation just created, to copy (this is the only time it is shown).
#[component]
fn NewLink(link: InvitationLink) -> impl IntoView {
    let url = absolute(&link.path);
    view! {
        <div class="banner success invite-link" role="status">
            <p>
                "Invitation for " <strong>{link.email}</strong> " as " {link.role.label()}
                " emailed. You can also send them this link yourself — it is shown only now, works until "
                {utc(link.expires_at)} ", and needs an address confirmed by email before it joins."
            </p>
            <label for="invite-link" class="visually-hidden">"Invitation link"</label>
            <input id="invite-link" readonly value=url on:focus=|ev| select_all(&ev)/>
        </div>
    }
    .into_any()
}

#[component]
fn InvitationTable(
    list: Vec<PendingInvitation>,
    revoke: ServerAction<RevokeInvitation>,
    account: Option<AccountId>,
) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="invitations cards-on-phone">
                <thead>
                    <tr>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|inv| {
                            let title = format!("Revoke the invitation for {}", inv.email);
                            view! {
                            <tr data-invitation=inv.email.clone()>
                                <td>{inv.email.clone()}</td>
                                <td data-label="Role"><span class="badge">{inv.role.label()}</span></td>
                                <td class="nowrap" data-label="Created">{utc(inv.created_at)}</td>
                                <td class="nowrap" data-label="Expires">{utc(inv.expires_at)}</td>
                                <td class="num">
                                    <ActionForm action=revoke attr:class="inline">
                                        {account_field(account)}
                                        <input type="hidden" name="id" value=inv.id.0/>
                                        <button type="submit" class="small" title=title>
                                            "Revoke"
                                        </button>
                                    </ActionForm>
                                </td>
                            </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The link as the owner's browser reaches this site (the path alone before hydration).
fn absolute(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Ok(origin) = window().location().origin() {
        return format!("{origin}{path}");
    }
    path.to_owned()
}

fn select_all(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
