//! Herald's server: configuration, database set-up, the router with its security layers, and
//! the CLI subcommands. `main.rs` only parses arguments and calls in here, so the HTTP and
//! browser tests can build exactly the same router.

pub mod background;
pub mod backup;
pub mod bench;
pub mod bench_delivery;
pub mod bench_reports;
pub mod client_ip;
pub mod config;
pub mod delivery_api;
pub mod listen;
pub mod metrics;
pub mod observe;
pub mod ops;
pub mod router;
pub mod security;
pub mod seed;
pub mod session_store;
pub mod simulate;
pub mod statements;
