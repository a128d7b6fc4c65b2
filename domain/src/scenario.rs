//! Given / when / then for aggregate tests: given these past events, when this command, then
//! these events or this error.

use crate::aggregate::Aggregate;
use std::fmt::Debug;

/// A scenario under test: the state folded from the given events.
pub(crate) struct Scenario<A: Aggregate> {
    state: A::State,
}

/// Starts a scenario from past events.
pub(crate) fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Scenario<A> {
    Scenario { state: A::fold(A::State::default(), events) }
}

impl<A: Aggregate> Scenario<A>
where
    A::Event: Debug + PartialEq,
    A::Error: Debug + PartialEq,
{
    /// Runs the command and returns what `decide` said.
    pub(crate) fn when(self, command: A::Command) -> Outcome<A> {
        Outcome { result: A::decide(&self.state, command) }
    }
}

/// What `decide` said in a scenario.
pub(crate) struct Outcome<A: Aggregate> {
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Outcome<A>
where
    A::Event: Debug + PartialEq,
    A::Error: Debug + PartialEq,
{
    /// Expects exactly these events.
    #[track_caller]
    pub(crate) fn then(self, expected: Vec<A::Event>) {
        match self.result {
            Ok(events) => assert_eq!(events, expected),
            Err(error) => panic!("expected events {expected:?}, got error {error:?}"),
        }
    }

    /// Expects this error.
    #[track_caller]
    pub(crate) fn then_error(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected error {expected:?}, got events {events:?}"),
            Err(error) => assert_eq!(error, expected),
        }
    }
}
