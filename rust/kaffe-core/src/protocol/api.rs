//! Looking up API specs by key or name.

use super::generated;
use super::schema::{ApiSpec, MessageSchema};

/// Every API in the tables, by ascending key (including the four that Kafka 4 removed, whose
/// valid versions are empty).
pub fn apis() -> &'static [&'static ApiSpec] {
    &generated::APIS
}

/// The API with this key, if Kafka defines one.
pub fn api(key: i16) -> Option<&'static ApiSpec> {
    let index = usize::try_from(key).ok()?;
    generated::API_BY_KEY.get(index).copied().flatten()
}

/// The API with this name (`"Produce"`, `"ApiVersions"`).
pub fn api_by_name(name: &str) -> Option<&'static ApiSpec> {
    generated::APIS.iter().copied().find(|a| a.name == name)
}

/// A data message (not a request or response) by name, such as
/// `"ConsumerProtocolSubscription"`.
pub fn data_message(name: &str) -> Option<&'static MessageSchema> {
    generated::DATA_MESSAGES
        .iter()
        .copied()
        .find(|m| m.name == name)
}

/// Every data message in the tables.
pub fn data_messages() -> &'static [&'static MessageSchema] {
    &generated::DATA_MESSAGES
}

/// The versions of `api` a client may negotiate: `(min, max)` of the request's valid versions,
/// with an unstable latest version left out. `None` for APIs Kafka removed.
pub fn client_versions(api: &ApiSpec) -> Option<(i16, i16)> {
    let max = api.request.stable_max_version()?;
    Some((api.request.valid_versions.min, max))
}

/// The Kafka release the tables were generated from.
pub const KAFKA_VERSION: &str = generated::KAFKA_VERSION;
