//! What one OPC UA data change means for a device: a reading (when the value is usable) and the
//! health its status code implies.

use opcua::types::{DataValue, StatusCode, SubStatusCode, Variant};
use optibid_domain::device::DeviceStatus;
use optibid_domain::time::Timestamp;

/// A data change, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The source's time of the value (the server's, then `received`, when it has none).
    pub ts: Timestamp,
    /// The value, when the status allows reading it and it is a finite number.
    pub value: Result<f64, Unusable>,
    /// What the status code says of the device.
    pub health: DeviceStatus,
    /// The status code's name (for the status change's reason).
    pub status: &'static str,
}

/// Why a data change carries no usable number.
#[derive(Debug, Clone, PartialEq)]
pub enum Unusable {
    /// The status code is Bad: the value means nothing.
    BadQuality,
    /// The value is not a number (a string, an array, empty ...).
    NotNumeric(String),
    /// The value is NaN or infinite.
    NotFinite(f64),
}

impl Reading {
    /// Decodes `value`, received at `received`.
    pub fn from_data_value(value: &DataValue, received: Timestamp) -> Self {
        let status = value.status.unwrap_or(StatusCode::Good);
        let ts = value
            .source_timestamp
            .or(value.server_timestamp)
            .filter(|t| !t.is_null())
            .map_or(received, |t| Timestamp(t.as_chrono().timestamp_millis()));
        let number = if status.is_bad() {
            Err(Unusable::BadQuality)
        } else {
            match value.value.as_ref() {
                Some(Variant::Boolean(flag)) => Ok(f64::from(u8::from(*flag))),
                Some(variant) => match variant.as_f64() {
                    Some(number) if number.is_finite() => Ok(number),
                    Some(number) => Err(Unusable::NotFinite(number)),
                    None => Err(Unusable::NotNumeric(format!("{variant:?}"))),
                },
                None => Err(Unusable::NotNumeric("no value".to_owned())),
            }
        };
        Self { ts, value: number, health: health(status), status: status.sub_code().name() }
    }
}

/// The device status an OPC UA status code implies: Good is online, Uncertain and most Bad codes
/// are degraded, and the codes that say the source cannot be reached are offline.
pub fn health(status: StatusCode) -> DeviceStatus {
    if status.is_good() {
        return DeviceStatus::Online;
    }
    match status.sub_code() {
        SubStatusCode::BadCommunicationError
        | SubStatusCode::BadNoCommunication
        | SubStatusCode::BadServerNotConnected
        | SubStatusCode::BadNotConnected
        | SubStatusCode::BadOutOfService
        | SubStatusCode::BadWaitingForInitialData => DeviceStatus::Offline,
        _ => DeviceStatus::Degraded,
    }
}

/// The worst of several statuses: offline over degraded over online.
pub fn worst(statuses: impl IntoIterator<Item = DeviceStatus>) -> Option<DeviceStatus> {
    statuses.into_iter().max_by_key(|status| match status {
        DeviceStatus::Online => 0,
        DeviceStatus::Maintenance => 1,
        DeviceStatus::Degraded => 2,
        DeviceStatus::Offline => 3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::DateTime;

    fn value(variant: Variant, status: StatusCode) -> DataValue {
        DataValue { value: Some(variant), status: Some(status), ..DataValue::default() }
    }

    #[test]
    fn numbers_and_booleans_are_readings() {
        let received = Timestamp(1_700_000_000_000);
        let reading = Reading::from_data_value(&value(Variant::Int32(-7), StatusCode::Good), received);
        assert_eq!(reading.value, Ok(-7.0));
        assert_eq!(reading.ts, received);
        assert_eq!(reading.health, DeviceStatus::Online);
        assert_eq!(Reading::from_data_value(&value(Variant::Boolean(true), StatusCode::Good), received).value, Ok(1.0));
        assert_eq!(Reading::from_data_value(&value(Variant::Float(2.5), StatusCode::Good), received).value, Ok(2.5));
    }

    #[test]
    fn the_source_timestamp_wins() {
        let mut data = value(Variant::Double(1.0), StatusCode::Good);
        let at = chrono::DateTime::from_timestamp_millis(1_650_000_000_123).expect("valid");
        data.source_timestamp = Some(DateTime::from(at));
        assert_eq!(Reading::from_data_value(&data, Timestamp(0)).ts, Timestamp(1_650_000_000_123));
    }

    #[test]
    fn bad_and_odd_values_are_not_readings() {
        let now = Timestamp(0);
        let bad = Reading::from_data_value(&value(Variant::Double(3.0), StatusCode::BadSensorFailure), now);
        assert_eq!(bad.value, Err(Unusable::BadQuality));
        assert_eq!(bad.health, DeviceStatus::Degraded);
        assert_eq!(bad.status, "BadSensorFailure");
        let text = Reading::from_data_value(&value(Variant::from("hello"), StatusCode::Good), now);
        assert!(matches!(text.value, Err(Unusable::NotNumeric(_))));
        let nan = Reading::from_data_value(&value(Variant::Double(f64::NAN), StatusCode::Good), now);
        assert!(matches!(nan.value, Err(Unusable::NotFinite(_))));
        let uncertain =
            Reading::from_data_value(&value(Variant::Double(4.0), StatusCode::UncertainLastUsableValue), now);
        assert_eq!(uncertain.value, Ok(4.0));
        assert_eq!(uncertain.health, DeviceStatus::Degraded);
    }

    #[test]
    fn unreachable_sources_are_offline_and_the_worst_status_wins() {
        assert_eq!(health(StatusCode::BadNoCommunication), DeviceStatus::Offline);
        assert_eq!(health(StatusCode::BadDeviceFailure), DeviceStatus::Degraded);
        assert_eq!(worst([DeviceStatus::Online, DeviceStatus::Degraded]), Some(DeviceStatus::Degraded));
        assert_eq!(worst([DeviceStatus::Offline, DeviceStatus::Degraded]), Some(DeviceStatus::Offline));
        assert_eq!(worst([]), None);
    }
}
