//! Reading the tree's persistent collections (`imbl`) from bytes that may be damaged or
//! hostile (a snapshot file, a SNAP from a peer): `imbl`'s own deserializers reserve as many
//! entries as the encoded count says before reading one, so a few bytes claiming 2^40 entries
//! would make the server abort on allocation. These read entry by entry instead, so memory
//! grows only with what the input really holds (found by `fuzz/`, docs/reliability.md).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// An `imbl::OrdMap`, entry by entry.
pub fn map<'de, D, K, V>(d: D) -> Result<imbl::OrdMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + Clone,
    V: Deserialize<'de> + Clone,
{
    struct V_<K, V>(PhantomData<(K, V)>);
    impl<'de, K, V> Visitor<'de> for V_<K, V>
    where
        K: Deserialize<'de> + Ord + Clone,
        V: Deserialize<'de> + Clone,
    {
        type Value = imbl::OrdMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut out = imbl::OrdMap::new();
            while let Some((k, v)) = a.next_entry()? {
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(V_(PhantomData))
}

/// An `imbl::OrdSet`, element by element.
pub fn set<'de, D, T>(d: D) -> Result<imbl::OrdSet<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Ord + Clone,
{
    struct V_<T>(PhantomData<T>);
    impl<'de, T> Visitor<'de> for V_<T>
    where
        T: Deserialize<'de> + Ord + Clone,
    {
        type Value = imbl::OrdSet<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut out = imbl::OrdSet::new();
            while let Some(x) = a.next_element()? {
                out.insert(x);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V_(PhantomData))
}
