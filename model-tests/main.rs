//! Model tests: every named configuration checked exhaustively with its state count pinned, the
//! durability rule shown to be checked, the command line's errors, and per-phase step tests.

mod architecture;
mod bug_zoo;
mod cli;
mod compat;
mod configs;
mod durability;
mod heartbeat;
mod interop;
mod jute;
mod peer_boundary;
mod phases;
mod runtime;
mod runtime_faults;
mod runtime_units;
mod rust_client;
mod service;
mod storage;
mod storage_format;
mod support;
mod tla_spec;
mod tls;
mod trace_validation;
mod zk_acl;
mod zk_cluster;
mod zk_conformance;
mod zk_props;
mod zk_quota;
mod zk_sasl;
mod zk_server;
mod zk_session;
mod zk_tree;
mod zk_watch;
mod zk_wire;
mod zoo_cfg;
