pub mod grpc;

mod connection_cache;
mod health_checker;
mod health_monitor;

pub(crate) use connection_cache::*;
pub(crate) use health_checker::*;
pub(crate) use health_monitor::*;

#[cfg(test)]
mod connection_cache_test;
#[cfg(test)]
mod health_checker_test;
#[cfg(test)]
mod health_monitor_test;
