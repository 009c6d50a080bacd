//! The delivery API's OpenAPI 3 document, generated from the handlers' wire types
//! (`utoipa`), served at `/api/delivery/v1/openapi.json`.

use super::wire::*;
use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald delivery API",
        version = "1",
        description = "For delivery networks: ask which sponsored message a channel's new post carries, then report the views and clicks it gets. Authenticate with `Authorization: Bearer <key>` (keys are created by Herald admins). Money is integer micro-units of the advertiser's currency (1 EUR = 1,000,000). Every error is JSON: `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    paths(decisions_doc, events_doc, channels_doc),
    components(schemas(
        DecisionRequest, DecisionResponse, AdContent, Event, EventsRequest, EventsResponse,
        EventOutcome, ChannelInfo, ChannelsResponse, ErrorBody, ErrorDetail
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct DeliveryApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Decide a slot: the winning ad and its hold, or 204 when nothing wins (no matching campaign
/// with budget, or the channel's sponsored messages for today are used up). Idempotent by
/// `slot_id`.
#[utoipa::path(
    post,
    path = "/api/delivery/v1/decisions",
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "An ad won the slot", body = DecisionResponse),
        (status = 204, description = "Nothing wins this slot"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No key, or a wrong or revoked key", body = ErrorBody),
        (status = 404, description = "Unknown channel", body = ErrorBody),
        (status = 409, description = "The slot id was used for another channel", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
        (status = 429, description = "Rate limit of the key (see Retry-After)", body = ErrorBody),
    )
)]
#[expect(dead_code, reason = "documents the route for the OpenAPI document")]
fn decisions_doc() {}

/// Report view and click increments. Each event posts what its views cost against its
/// decision's hold (never more than is held). Per item: one result per event, in order; a
/// rejected event does not stop the others. The batch commits as one transaction, so a 5xx
/// wrote nothing and the batch can be sent again; a replayed `event_id` answers `replayed`
/// with the first answer.
#[utoipa::path(
    post,
    path = "/api/delivery/v1/events",
    request_body = EventsRequest,
    responses(
        (status = 200, description = "One result per event", body = EventsResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No key, or a wrong or revoked key", body = ErrorBody),
        (status = 413, description = "More than 1,000 events", body = ErrorBody),
        (status = 422, description = "No events", body = ErrorBody),
        (status = 429, description = "Rate limit of the key (see Retry-After)", body = ErrorBody),
    )
)]
#[expect(dead_code, reason = "documents the route for the OpenAPI document")]
fn events_doc() {}

/// The eligible channels (active, with enough subscribers), by id, a page at a time.
#[utoipa::path(
    get,
    path = "/api/delivery/v1/channels",
    params(ChannelsQuery),
    responses(
        (status = 200, description = "A page of channels", body = ChannelsResponse),
        (status = 401, description = "No key, or a wrong or revoked key", body = ErrorBody),
        (status = 422, description = "Invalid paging", body = ErrorBody),
    )
)]
#[expect(dead_code, reason = "documents the route for the OpenAPI document")]
fn channels_doc() {}

/// `GET /openapi.json` (no key needed).
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(DeliveryApiDoc::openapi())
}
