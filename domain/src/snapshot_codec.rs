//! Test support: a state through the snapshot encoding (postcard) and back, as a snapshot
//! stores and restores it.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// `state` encoded and decoded again.
pub fn through_snapshot_codec<S: Serialize + DeserializeOwned>(state: &S) -> S {
    let bytes = postcard::to_allocvec(state).expect("a state encodes");
    postcard::from_bytes(&bytes).expect("an encoded state decodes")
}
