//! Whether a refused command was refused because what it names does not exist.

/// An aggregate error that can say "no such thing": the instance itself, or one of its parts
/// (a command, an alert, a deployment). A caller answering over HTTP says 404 for these rather
/// than a rule violation.
pub trait MissingResource {
    /// Whether the error means the named instance or part does not exist.
    fn names_missing_resource(&self) -> bool;
}

impl MissingResource for crate::device::DeviceError {
    fn names_missing_resource(&self) -> bool {
        matches!(
            self,
            Self::NotRegistered | Self::UnknownCommand(_) | Self::UnknownAlert(_) | Self::UnknownMaintenance(_)
        )
    }
}

impl MissingResource for crate::edge::EdgeNodeError {
    fn names_missing_resource(&self) -> bool {
        matches!(self, Self::NotRegistered | Self::UnknownDeployment(_) | Self::UnknownService(_))
    }
}

impl MissingResource for crate::campaign::CampaignError {
    fn names_missing_resource(&self) -> bool {
        matches!(self, Self::NotCreated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::CampaignError;
    use crate::device::DeviceError;
    use crate::ids::CommandId;

    #[test]
    fn an_unknown_instance_or_part_is_missing_and_a_rule_violation_is_not() {
        assert!(DeviceError::NotRegistered.names_missing_resource());
        assert!(DeviceError::UnknownCommand(CommandId::new("c1").expect("valid")).names_missing_resource());
        assert!(CampaignError::NotCreated.names_missing_resource());
        assert!(!CampaignError::NoMoreWaves.names_missing_resource());
    }
}
