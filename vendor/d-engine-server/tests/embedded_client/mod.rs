//! # Embedded Client Tests
//!
//! This module verifies the EmbeddedClient functionality for embedded mode operations.
//! EmbeddedClient provides a Rust-native, type-safe interface for KV operations
//! without requiring gRPC serialization overhead.
//!
//! ## Test Files
//!
//! - `embedded_client_operations.rs` - EmbeddedClient API testing:
//!   put, put_with_ttl, get (eventual/linearizable/lease), get_multi alignment,
//!   delete, concurrent ops, watch (put/delete events, key isolation)

mod embedded_client_operations;
