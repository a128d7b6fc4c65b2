//! The packets the endpoint sends, in the protocol version the client spoke (3.1.1 or 5).

use mqtt_endpoint_tokio::mqtt_ep::packet::{
    v3_1_1, v5_0, MaximumQos, Packet, Property, Qos, ReasonString, RetainAvailable, SharedSubscriptionAvailable,
    WildcardSubscriptionAvailable,
};
use mqtt_endpoint_tokio::mqtt_ep::result_code::{
    ConnectReasonCode, ConnectReturnCode, DisconnectReasonCode, MqttError, PubackReasonCode, PubcompReasonCode,
    PubrecReasonCode, SubackReasonCode, SubackReturnCode, UnsubackReasonCode,
};
use mqtt_endpoint_tokio::mqtt_ep::Version;

/// Why a login is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    /// The user name or secret is wrong (3.1.1 code 4, v5 0x86).
    #[error("bad user name or password: {0}")]
    BadCredentials(String),
    /// The client may not connect as it asked (3.1.1 code 5, v5 0x87).
    #[error("not authorised: {0}")]
    NotAuthorised(String),
}

/// A packet could not be built (an id or topic the codec refuses).
#[derive(Debug, thiserror::Error)]
#[error("cannot build an MQTT packet: {0:?}")]
pub struct PacketError(pub MqttError);

impl From<MqttError> for PacketError {
    fn from(error: MqttError) -> Self {
        Self(error)
    }
}

/// How a received PUBLISH is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishAnswer {
    /// Stored (or stored before): success.
    Accepted,
    /// The client may not publish there (v5 0x87).
    NotAuthorised,
    /// The payload was refused and dead-lettered (v5 0x99).
    PayloadRefused,
    /// The platform refused the message for another reason, dead-lettered (v5 0x80).
    Refused,
}

/// CONNACK accepting the login.
pub fn connack_accepted(version: Version, session_present: bool) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => v5_0::Connack::builder()
            .session_present(session_present)
            .reason_code(ConnectReasonCode::Success)
            .props(vec![
                Property::MaximumQos(MaximumQos::new(1)?),
                Property::RetainAvailable(RetainAvailable::new(0)?),
                Property::WildcardSubscriptionAvailable(WildcardSubscriptionAvailable::new(0)?),
                Property::SharedSubscriptionAvailable(SharedSubscriptionAvailable::new(0)?),
            ])
            .build()?
            .into(),
        _ => v3_1_1::Connack::builder()
            .session_present(session_present)
            .return_code(ConnectReturnCode::Accepted)
            .build()?
            .into(),
    })
}

/// CONNACK refusing the login with the code the refusal maps to.
pub fn connack_refused(version: Version, refusal: &LoginRefusal) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => {
            let code = match refusal {
                LoginRefusal::BadCredentials(_) => ConnectReasonCode::BadUserNameOrPassword,
                LoginRefusal::NotAuthorised(_) => ConnectReasonCode::NotAuthorized,
            };
            let reason = Property::ReasonString(ReasonString::new(refusal.to_string())?);
            v5_0::Connack::builder().session_present(false).reason_code(code).props(vec![reason]).build()?.into()
        }
        _ => {
            let code = match refusal {
                LoginRefusal::BadCredentials(_) => ConnectReturnCode::BadUserNameOrPassword,
                LoginRefusal::NotAuthorised(_) => ConnectReturnCode::NotAuthorized,
            };
            v3_1_1::Connack::builder().session_present(false).return_code(code).build()?.into()
        }
    })
}

/// PUBACK for a QoS 1 PUBLISH (reason codes exist only in v5).
pub fn puback(version: Version, packet_id: u16, answer: PublishAnswer) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => {
            let code = match answer {
                PublishAnswer::Accepted => PubackReasonCode::Success,
                PublishAnswer::NotAuthorised => PubackReasonCode::NotAuthorized,
                PublishAnswer::PayloadRefused => PubackReasonCode::PayloadFormatInvalid,
                PublishAnswer::Refused => PubackReasonCode::UnspecifiedError,
            };
            v5_0::Puback::builder().packet_id(packet_id).reason_code(code).build()?.into()
        }
        _ => v3_1_1::Puback::builder().packet_id(packet_id).build()?.into(),
    })
}

/// PUBREC for a QoS 2 PUBLISH.
pub fn pubrec(version: Version, packet_id: u16, answer: PublishAnswer) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => {
            let code = match answer {
                PublishAnswer::Accepted => PubrecReasonCode::Success,
                PublishAnswer::NotAuthorised => PubrecReasonCode::NotAuthorized,
                PublishAnswer::PayloadRefused => PubrecReasonCode::PayloadFormatInvalid,
                PublishAnswer::Refused => PubrecReasonCode::UnspecifiedError,
            };
            v5_0::Pubrec::builder().packet_id(packet_id).reason_code(code).build()?.into()
        }
        _ => v3_1_1::Pubrec::builder().packet_id(packet_id).build()?.into(),
    })
}

/// PUBCOMP answering a PUBREL.
pub fn pubcomp(version: Version, packet_id: u16) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => {
            v5_0::Pubcomp::builder().packet_id(packet_id).reason_code(PubcompReasonCode::Success).build()?.into()
        }
        _ => v3_1_1::Pubcomp::builder().packet_id(packet_id).build()?.into(),
    })
}

/// SUBACK: each filter granted at QoS 1 at most, or refused.
pub fn suback(version: Version, packet_id: u16, grants: &[Option<Qos>]) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => {
            let codes = grants
                .iter()
                .map(|grant| match grant {
                    Some(Qos::AtMostOnce) => SubackReasonCode::GrantedQos0,
                    Some(_) => SubackReasonCode::GrantedQos1,
                    None => SubackReasonCode::NotAuthorized,
                })
                .collect();
            v5_0::Suback::builder().packet_id(packet_id).reason_codes(codes).build()?.into()
        }
        _ => {
            let codes = grants
                .iter()
                .map(|grant| match grant {
                    Some(Qos::AtMostOnce) => SubackReturnCode::SuccessMaximumQos0,
                    Some(_) => SubackReturnCode::SuccessMaximumQos1,
                    None => SubackReturnCode::Failure,
                })
                .collect();
            v3_1_1::Suback::builder().packet_id(packet_id).return_codes(codes).build()?.into()
        }
    })
}

/// UNSUBACK for `filters` filters.
pub fn unsuback(version: Version, packet_id: u16, filters: usize) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => v5_0::Unsuback::builder()
            .packet_id(packet_id)
            .reason_codes(vec![UnsubackReasonCode::Success; filters])
            .build()?
            .into(),
        _ => v3_1_1::Unsuback::builder().packet_id(packet_id).build()?.into(),
    })
}

/// DISCONNECT with a reason, for v5 clients (3.1.1 has no server DISCONNECT: the connection is
/// just closed).
pub fn disconnect(version: Version, reason: DisconnectReasonCode) -> Result<Option<Packet>, PacketError> {
    Ok(match version {
        Version::V5_0 => Some(v5_0::Disconnect::builder().reason_code(reason).build()?.into()),
        _ => None,
    })
}

/// A QoS 1 PUBLISH to the client.
pub fn publish(version: Version, packet_id: u16, topic: &str, payload: Vec<u8>) -> Result<Packet, PacketError> {
    Ok(match version {
        Version::V5_0 => v5_0::Publish::builder()
            .topic_name(topic)?
            .qos(Qos::AtLeastOnce)
            .packet_id(packet_id)
            .payload(payload)
            .build()?
            .into(),
        _ => v3_1_1::Publish::builder()
            .topic_name(topic)?
            .qos(Qos::AtLeastOnce)
            .packet_id(packet_id)
            .payload(payload)
            .build()?
            .into(),
    })
}
