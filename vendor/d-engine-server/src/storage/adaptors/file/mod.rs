mod durable;
mod file_state_machine;
mod file_storage_engine;

pub use file_state_machine::*;
pub use file_storage_engine::*;

#[cfg(test)]
mod file_engine_test;
#[cfg(test)]
mod file_size_limit;
#[cfg(test)]
mod file_state_machine_test;
#[cfg(test)]
mod file_storage_engine_test;
