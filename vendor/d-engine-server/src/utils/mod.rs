#[allow(dead_code)]
pub mod async_task;

#[allow(dead_code)]
pub mod cluster;

#[allow(dead_code)]
pub mod net;

#[cfg(test)]
mod utils_test;

#[cfg(test)]
mod async_task_test;

#[cfg(test)]
mod net_test;
