//! The refusals a handler documents, as named sets: a handler lists its success and one
//! set (`responses((status = 200, body = LeadOut), Update)`), so each status is described
//! once and every refusal is a problem document (`application/problem+json`).

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// What each refusal means, the same on every route.
fn describe(status: u16) -> &'static str {
    match status {
        401 => "no valid bearer token",
        403 => "the library's rules refuse the caller this",
        404 => "no such record, or the caller may not see it",
        409 => {
            "the record's state refuses the change: a duplicate email or phone, a status \
                move the pipeline does not allow, or a read-only (converted) lead"
        }
        412 => "If-Match names another version than the current one",
        413 => "the body is larger than the route accepts",
        415 => "the body's media type is not one the route reads",
        422 => "bad input: each bad field named, nothing written",
        428 => "If-Match is required",
        429 => {
            "too many failed sign-ins (or wrong current passwords): locked until \
                `locked_until`, `Retry-After` seconds"
        }
        _ => "refused",
    }
}

/// The problem-details response for `status`.
fn problem(status: u16) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(describe(status))
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn problems(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|s| (s.to_string(), problem(*s)))
        .collect()
}

macro_rules! refusal_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+];)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    problems(&[$($status),+])
                }
            }
        )*
    };
}

refusal_sets! {
    /// A route for any holder of a token that refuses no one: 401.
    Unauthenticated = [401];
    /// Saving a record of one's own: 401, 422.
    OwnInput = [401, 422];
    /// Issuing a token: 401, 422, 429.
    SignIn = [401, 422, 429];
    /// A route the library may refuse the caller: 401, 403.
    Guarded = [401, 403];
    /// A guarded route with input: 401, 403, 422.
    GuardedInput = [401, 403, 422];
    /// Reading one record: 401, 403, 404.
    Lookup = [401, 403, 404];
    /// Revoking one's own record: 401, 404.
    OwnLookup = [401, 404];
    /// Writing a record by id without a version: 401, 403, 404, 422.
    Save = [401, 403, 404, 422];
    /// Creating a record: 401, 403, 409, 422.
    Create = [401, 403, 409, 422];
    /// Adding to a record: 401, 403, 404, 409, 422.
    Write = [401, 403, 404, 409, 422];
    /// Changing a versioned record (`If-Match`): 401, 403, 404, 409, 412, 422, 428.
    Update = [401, 403, 404, 409, 412, 422, 428];
    /// Importing a file: 401, 403, 413, 415, 422.
    ImportRefusals = [401, 403, 413, 415, 422];
    /// Changing a password, one's own with the current one (wrong ones count towards the
    /// sign-in lock): 401, 403, 404, 422, 429.
    PasswordChange = [401, 403, 404, 422, 429];
}
