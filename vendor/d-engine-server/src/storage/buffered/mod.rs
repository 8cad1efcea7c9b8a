// Re-export BufferedRaftLog from core (now lives in d-engine-core)
pub use d_engine_core::BufferedRaftLog;
