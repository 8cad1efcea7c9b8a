//! Public API layer for d-engine

mod embedded;
mod embedded_client;
mod standalone;

pub use embedded::EmbeddedEngine;
pub use embedded_client::EmbeddedClient;
pub use standalone::StandaloneEngine;

#[cfg(test)]
mod embedded_client_test;

#[cfg(test)]
mod embedded_test;

#[cfg(test)]
mod embedded_env_test;

#[cfg(test)]
mod standalone_test;
