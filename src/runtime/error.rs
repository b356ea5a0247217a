//! Why a server could not start, or stopped.

use super::files::StorageError;
use std::net::SocketAddr;
use thiserror::Error;

/// A runtime failure: starting a server, or the actor loop giving up.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The data directory could not be read, or a save could not be made durable (a server
    /// that cannot make its state durable stops rather than go on).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A configured address does not resolve.
    #[error("{host}:{port}: {reason}")]
    Resolve {
        /// The host as configured.
        host: String,
        /// The port.
        port: u16,
        /// What the resolver said.
        reason: String,
    },
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The configuration lacks what this server needs.
    #[error("{0}")]
    Config(&'static str),
    /// The secure client port cannot be set up (its key or trust store).
    #[error("secure client port: {0}")]
    Tls(#[from] super::tls::TlsError),
    /// A file the configuration names is wrong (the JAAS file).
    #[error(transparent)]
    BadConfig(#[from] super::config::ConfigError),
    /// The trace directory (`ZABKEEPER_TRACE`) cannot be written.
    #[error("ZABKEEPER_TRACE: {0}")]
    Trace(std::io::Error),
    /// The actor loop's thread could not be started.
    #[error("cannot start the actor thread: {0}")]
    Thread(std::io::Error),
}
