//! The shape every aggregate follows.

/// An event-sourced aggregate: pure rules that turn commands into events and fold events into
/// state. The shape of `esrs::Aggregate`, without its dependency on an async runtime.
pub trait Aggregate {
    /// Stream kind of every instance (`device`, `edge`, `campaign`). Stored with every event:
    /// never change it.
    const NAME: &'static str;

    /// Version of the event encoding; bumped when an event's fields change, so stored events of
    /// an older version can be upcast.
    const EVENT_SCHEMA_VERSION: u16;

    /// Version of the state encoding; a snapshot of another version is ignored.
    const STATE_SCHEMA_VERSION: u16;

    /// The state derived from the events.
    type State: Default + Clone;

    /// What callers ask for.
    type Command;

    /// What happened.
    type Event: Clone + EventName;

    /// Why a command was rejected.
    type Error: std::error::Error + crate::MissingResource;

    /// Validates `command` against `state` and returns the events it causes.
    fn decide(state: &Self::State, command: Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event into the state. Total: it never validates and never panics.
    fn evolve(state: Self::State, event: Self::Event) -> Self::State;

    /// The external id of the instance, once the state knows it (after registration or creation).
    fn instance_id(state: &Self::State) -> Option<&str>;

    /// Folds a sequence of events, starting from `state`.
    fn fold(state: Self::State, events: impl IntoIterator<Item = Self::Event>) -> Self::State {
        events.into_iter().fold(state, Self::evolve)
    }
}

/// A stable, dotted name for each event variant (`device.registered`), stored beside the payload
/// so that logs, exports and metrics can name an event without decoding it.
pub trait EventName {
    /// The event's stable name.
    fn event_name(&self) -> &'static str;
}
