//! Request context for server functions: the only place that knows the session keys and
//! `AppState`. Resolves who is asking into a `service::Actor`.

use crate::{
    error::AppError,
    model::{AccountId, PlatformRole, UserId, Viewer},
    service::{
        self, Actor,
        catalog_import::ImportJobs,
        forecast::ForecastEngine,
        passwords::PasswordHasher,
        reads::{ReadPin, Reads},
    },
};
use axum::{
    extract::{ConnectInfo, FromRef},
    http::request::Parts,
};
use chrono::Utc;
use leptos::prelude::{LeptosOptions, use_context};
use sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
};
use tower_sessions::Session;

tokio::task_local! {
    /// The id of the request being served (its `X-Request-Id`), set by the server's request-id
    /// layer around each request. For work that one task does for several requests at once —
    /// the delivery writer's batches — whose log lines name every request they serve (a line
    /// written in the request's own task names it through the request's span).
    pub static REQUEST_ID: std::sync::Arc<str>;
}

/// Shared by every request: the database pool, the password hasher and Leptos' options.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The main pool: every write, every transaction.
    pub db: DatabaseConnection,
    /// Reads: inside a request, on one connection held for the whole request when one is free
    /// (see `service::reads`); elsewhere the main pool.
    pub reads: Reads,
    pub hasher: PasswordHasher,
    pub leptos_options: LeptosOptions,
    /// The in-memory forecast index, refreshed when the catalog changes.
    pub forecast: ForecastEngine,
    /// The in-memory delivery candidate index, refreshed when campaigns or the catalog change.
    pub delivery: service::delivery::DeliveryEngine,
    /// Catalog imports being applied on this instance, with their progress.
    pub imports: ImportJobs,
    /// Work an answer does not wait for (a password reset's link and mail): a shutdown lets
    /// it finish within its grace.
    pub deferred: tokio_util::task::TaskTracker,
    /// Room for the streamed CSV exports this instance writes at once.
    pub exports: service::reports::export::Exports,
    /// Development mail mode (`HERALD_DEV_MAIL`, the demo): the mail outbox page shows the
    /// links' secrets. Off in production, where mail goes to the people it is for.
    pub dev_mail: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The per-response CSP nonce, put in the request's extensions by the security layer and read
/// by the HTML shell for its inline hydration script.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// The client's address as the server decided it (the socket peer, or the first untrusted hop
/// of `X-Forwarded-For` behind a configured trusted proxy), put in the request's extensions by
/// the server's client-address layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// This request's viewer, loaded once and shared by the shell and every server function the
/// render calls (a page's resources each ask who is asking). The server's request layer puts
/// an empty one in every request's extensions; the clones Leptos hands to each server function
/// share it. Anything that changes who the session belongs to, or its account, empties it.
#[derive(Clone, Debug, Default)]
pub struct ViewerMemo(std::sync::Arc<tokio::sync::Mutex<Option<Option<Viewer>>>>);

const USER_ID: &str = "user_id";
const ACCOUNT_ID: &str = "account_id";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";

/// A session ends this long after sign-in, however active it is.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// Reads refresh the idle timeout, but write the session at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

/// Everything a server function needs from its request, captured synchronously.
///
/// Leptos contexts are only reliable before a server function's first `.await` (a resource
/// polled during server rendering may resume outside the request's reactive owner), so every
/// entry point here reads the state, the session and the client address up front and carries
/// them along instead of looking them up again later.
#[derive(Clone, Debug)]
pub struct Request {
    pub state: AppState,
    session: Session,
    /// Absent outside the server's request layer (then every call loads the viewer anew).
    memo: Option<ViewerMemo>,
    /// The client's address ([`ClientIp`], else the socket peer).
    pub ip: Option<String>,
}

/// The current request's state, session and client address. Call it before any `.await`.
pub fn request() -> Result<Request, AppError> {
    let state = use_context::<AppState>()
        .ok_or_else(|| AppError::internal("context", "AppState missing"))?;
    let parts = use_context::<Parts>()
        .ok_or_else(|| AppError::internal("context", "request parts missing"))?;
    Request::from_parts(state, &parts)
}

impl Request {
    /// The request of a plain axum handler inside the session layer (a download, which a
    /// server function cannot stream): the same session, client address and checks.
    pub fn from_parts(state: AppState, parts: &Parts) -> Result<Self, AppError> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::internal("context", "session layer missing"))?;
        let ip = parts
            .extensions
            .get::<ClientIp>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            })
            .map(|ip| ip.to_string());
        let memo = parts.extensions.get::<ViewerMemo>().cloned();
        let mut state = state;
        state.reads = state
            .reads
            .for_request(parts.extensions.get::<ReadPin>().cloned());
        Ok(Request {
            state,
            session,
            memo,
            ip,
        })
    }
}

/// The signed-in user of a stored session record's data, for the session store's `user_id`
/// column (so that all of a user's sessions can be found and ended).
pub fn session_user_id(data: &HashMap<String, serde_json::Value>) -> Option<i64> {
    data.get(USER_ID).and_then(serde_json::Value::as_i64)
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    AppError::internal("session store", e)
}

impl Request {
    /// The signed-in user id, enforcing the absolute timeout and refreshing the idle one.
    pub(crate) async fn session_user(&self) -> Result<Option<UserId>, AppError> {
        let session = &self.session;
        let Some(user) = session.get::<i64>(USER_ID).await.map_err(session_err)? else {
            return Ok(None);
        };
        let now = Utc::now().timestamp();
        let signed_in_at = session
            .get::<i64>(SIGNED_IN_AT)
            .await
            .map_err(session_err)?
            .unwrap_or(0);
        if now - signed_in_at > ABSOLUTE_TIMEOUT_SECS {
            session.flush().await.map_err(session_err)?;
            return Ok(None);
        }
        let seen_at = session
            .get::<i64>(SEEN_AT)
            .await
            .map_err(session_err)?
            .unwrap_or(0);
        if now - seen_at >= TOUCH_EVERY_SECS {
            session.insert(SEEN_AT, now).await.map_err(session_err)?;
        }
        Ok(Some(UserId(user)))
    }

    /// The viewer for the header and navigation; `None` when nobody is signed in. Loaded once
    /// per request: concurrent callers wait for the first load and share it.
    pub async fn viewer(&self) -> Result<Option<Viewer>, AppError> {
        let Some(memo) = &self.memo else {
            return self.load_viewer().await;
        };
        let mut slot = memo.0.lock().await;
        if let Some(viewer) = slot.as_ref() {
            return Ok(viewer.clone());
        }
        let viewer = self.load_viewer().await?;
        *slot = Some(viewer.clone());
        Ok(viewer)
    }

    /// Forgets the loaded viewer after a change to the session's user or account.
    async fn forget_viewer(&self) {
        if let Some(memo) = &self.memo {
            *memo.0.lock().await = None;
        }
    }

    async fn load_viewer(&self) -> Result<Option<Viewer>, AppError> {
        self.load_viewer_in(None).await
    }

    /// The viewer with `account` as the current account when given (it must then be one of
    /// theirs), else the one chosen in the session.
    ///
    /// A request that has not changed its session reads the stored session and its user's
    /// viewer in one statement (`service::auth::session_viewer`) and never asks the session
    /// store, which would be a second; one that has (a sign-in, a switch of account, in this
    /// same request) goes by the session as it now is.
    async fn load_viewer_in(&self, account: Option<AccountId>) -> Result<Option<Viewer>, AppError> {
        if !self.session.is_modified() {
            let Some(id) = self.session.id() else {
                return Ok(None);
            };
            if let Some(viewer) = self.stored_viewer(&id.to_string(), account).await? {
                return Ok(viewer);
            }
        }
        let Some(user) = self.session_user().await? else {
            return Ok(None);
        };
        let preferred = match account {
            Some(account) => Some(account),
            None => self
                .session
                .get::<i64>(ACCOUNT_ID)
                .await
                .map_err(session_err)?
                .map(AccountId),
        };
        let viewer = service::auth::viewer(&self.state.reads, user, preferred).await?;
        if viewer.is_none() {
            self.session.flush().await.map_err(session_err)?;
        }
        Ok(viewer)
    }

    /// The viewer of the stored session `id`, read with it in one statement, when that is all
    /// the request needs. `None` sends the caller the session layer's way
    /// ([`Request::session_user`]), which also makes every write a read may need: when no
    /// such session is stored (ended, expired: the layer then has the browser forget the
    /// cookie), when the session is past its absolute timeout or due for its once-a-minute
    /// touch, and when the row's user is not the one its data names (a deleted user, or a row
    /// older than that column) — so this path never writes, and never answers for a session
    /// the layer would not.
    async fn stored_viewer(
        &self,
        id: &str,
        account: Option<AccountId>,
    ) -> Result<Option<Option<Viewer>>, AppError> {
        let now = Utc::now();
        let Some((record, rows)) =
            service::auth::session_viewer(&self.state.reads, id, now).await?
        else {
            return Ok(None);
        };
        let record: tower_sessions::session::Record =
            serde_json::from_str(&record).map_err(|e| AppError::internal("session record", e))?;
        let int = |key: &str| record.data.get(key).and_then(serde_json::Value::as_i64);
        let Some(user) = int(USER_ID) else {
            // A session nobody signed in to.
            return Ok(Some(None));
        };
        let now = now.timestamp();
        let needs_write = now - int(SIGNED_IN_AT).unwrap_or(0) > ABSOLUTE_TIMEOUT_SECS
            || now - int(SEEN_AT).unwrap_or(0) >= TOUCH_EVERY_SECS;
        match rows {
            Some(rows) if rows.user.0 == user && !needs_write => {
                let preferred = account.or(int(ACCOUNT_ID).map(AccountId));
                Ok(Some(Some(rows.into_viewer(preferred))))
            }
            _ => Ok(None),
        }
    }

    /// The signed-in caller as a member of exactly `account` (see [`require_member_of`]).
    pub async fn member_of(&self, account: AccountId) -> Result<Actor, AppError> {
        let viewer = self
            .load_viewer_in(Some(account))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if viewer.current_account != Some(account) {
            return Err(AppError::NotFound);
        }
        Ok(Actor::from_viewer(viewer, self.ip.clone()))
    }

    /// The signed-in caller as a service `Actor`.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        let viewer = self.viewer().await?.ok_or(AppError::Unauthenticated)?;
        Ok(Actor::from_viewer(viewer, self.ip.clone()))
    }

    /// Starts an authenticated session under a fresh id (no fixation).
    pub async fn begin_session(&self, user: UserId) -> Result<(), AppError> {
        self.forget_viewer().await;
        let session = &self.session;
        session.cycle_id().await.map_err(session_err)?;
        let now = Utc::now().timestamp();
        session.insert(USER_ID, user.0).await.map_err(session_err)?;
        session
            .insert(SIGNED_IN_AT, now)
            .await
            .map_err(session_err)?;
        session.insert(SEEN_AT, now).await.map_err(session_err)?;
        Ok(())
    }

    /// Makes `account` the current one. For an account the user has just joined; anything
    /// else goes through [`switch_account`], which checks the membership.
    pub async fn select_account(&self, account: AccountId) -> Result<(), AppError> {
        self.forget_viewer().await;
        self.session
            .insert(ACCOUNT_ID, account.0)
            .await
            .map_err(session_err)
    }

    /// The id of this request's stored session (none before it is first saved).
    pub fn session_id(&self) -> Option<String> {
        self.session.id().map(|id| id.to_string())
    }

    /// Ends the session server-side (the record is deleted) and returns who it belonged to.
    pub async fn end_session(&self) -> Result<Option<UserId>, AppError> {
        self.forget_viewer().await;
        let user = self
            .session
            .get::<i64>(USER_ID)
            .await
            .map_err(session_err)?
            .map(UserId);
        self.session.flush().await.map_err(session_err)?;
        Ok(user)
    }
}

/// The viewer for the header and navigation, with their unread notifications; `None` when
/// nobody is signed in.
pub async fn viewer() -> Result<Option<Viewer>, AppError> {
    // The stored session, the viewer and the header's figures: one statement.
    request()?.viewer().await
}

/// Any signed-in user.
pub async fn require_user() -> Result<(AppState, Actor), AppError> {
    let request = request()?;
    let actor = request.actor().await?;
    Ok((request.state, actor))
}

/// Any signed-in user, with the currency prices are shown to them in: their current
/// account's (which the viewer already carries), euros without one.
pub async fn require_user_priced() -> Result<(AppState, Actor, String), AppError> {
    let request = request()?;
    let viewer = request.viewer().await?.ok_or(AppError::Unauthenticated)?;
    let currency = viewer.current_membership().map_or_else(
        || crate::model::DEFAULT_CURRENCY.to_owned(),
        |m| m.currency.clone(),
    );
    Ok((
        request.state,
        Actor::from_viewer(viewer, request.ip),
        currency,
    ))
}

/// A signed-in user holding the platform role `role` (refusals are audited).
pub async fn require_staff(role: PlatformRole) -> Result<(AppState, Actor), AppError> {
    let (state, actor) = require_user().await?;
    actor.require_staff(&state.db, role).await?;
    Ok((state, actor))
}

/// A signed-in member of an ad account (the current one). What the member's role allows is
/// checked by the service, which knows the operation.
pub async fn require_member() -> Result<(AppState, Actor), AppError> {
    let (state, actor) = require_user().await?;
    if actor.membership.is_none() {
        return Err(AppError::NotFound);
    }
    Ok((state, actor))
}

/// A signed-in member of exactly `account` — the account the page showed, which every write
/// that is not identified by an object of the account carries. No fallback: when the session
/// has moved on (a switch in another tab) or the caller was removed, the answer is `NotFound`
/// and nothing is written to whichever account is current now.
pub async fn require_member_of(account: AccountId) -> Result<(AppState, Actor), AppError> {
    let request = request()?;
    let actor = request.member_of(account).await?;
    Ok((request.state, actor))
}

/// Makes `account` the current one, if the actor is a member of it.
pub async fn switch_account(account: AccountId) -> Result<(), AppError> {
    let request = request()?;
    // The viewer already carries the memberships: no second query.
    let viewer = request.viewer().await?.ok_or(AppError::Unauthenticated)?;
    if !viewer.is_member_of(account) {
        return Err(AppError::NotFound);
    }
    request.forget_viewer().await;
    request
        .session
        .insert(ACCOUNT_ID, account.0)
        .await
        .map_err(session_err)
}
