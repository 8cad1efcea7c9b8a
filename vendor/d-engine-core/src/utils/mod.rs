pub mod cluster;
pub mod cluster_printer;
pub mod convert;
pub mod file_io;
pub mod scoped_timer;
pub mod stream;
pub mod time;

#[cfg(test)]
mod cluster_printer_test;
#[cfg(test)]
mod convert_test;
#[cfg(test)]
mod file_io_test;
#[cfg(test)]
mod stream_test;
#[cfg(test)]
mod time_test;
