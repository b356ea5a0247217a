//! A znode's data: bytes, or null. ZooKeeper keeps the two apart (`create(path, null)` reads
//! back as null; kazoo gets `None`, the Java client `null`) and reports `dataLength` 0 for both.
//!
//! Data directories of formats 1 and 2 stored data as plain bytes, null already turned into
//! empty. [`legacy`] reads such records: while it runs, every data field decodes as bytes and
//! becomes `Some`; outside it, data decodes as an `Option` (format 3, docs/storage.md).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::Cell;

/// A znode's data; `None` is ZooKeeper's null.
pub type Data = Option<Vec<u8>>;

thread_local! {
    static LEGACY: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with data fields decoded as formats 1 and 2 wrote them (bytes, never null).
pub fn legacy<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            LEGACY.with(|l| l.set(self.0));
        }
    }
    let _reset = Reset(LEGACY.with(|l| l.replace(true)));
    f()
}

/// The bytes of `data`, null read as empty (digests, sizes, quotas).
pub fn bytes(data: &Data) -> &[u8] {
    data.as_deref().unwrap_or(&[])
}

/// serde's `with` module for [`Data`] fields of stored and sent values.
pub mod format {
    use super::*;

    /// Writes the data as an `Option`.
    pub fn serialize<S: Serializer>(data: &Data, s: S) -> Result<S::Ok, S::Error> {
        data.serialize(s)
    }

    /// Reads an `Option`, or bytes inside [`legacy`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        if LEGACY.with(Cell::get) {
            Vec::<u8>::deserialize(d).map(Some)
        } else {
            Data::deserialize(d)
        }
    }
}
