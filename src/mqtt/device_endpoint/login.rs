//! Who a connecting client is. A client logs in with its login (a device id, or `edge:` and an
//! edge node id) as both client id and user name, and either that login's secret as password or
//! a client certificate (verified by TLS against the configured CA) whose subject common name or
//! a subject alternative name is the login. Anything else is refused with the code that says
//! why, and a last will may only be the client's own status.

use super::packets::LoginRefusal;
use crate::mqtt::identity::ClientIdentity;
use crate::mqtt::topic::InboundTopic;

/// What a CONNECT packet (and the TLS session under it) says about the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The client id.
    pub client_id: String,
    /// The user name, if any.
    pub user_name: Option<String>,
    /// The password, if any.
    pub password: Option<Vec<u8>>,
    /// Names of the client certificate TLS verified (its common name and alternative names);
    /// empty without one.
    pub certificate_names: Vec<String>,
    /// The topic of the last will, if one is set.
    pub will_topic: Option<String>,
}

/// Decides who the client is; `secret_matches(login, secret)` checks a secret against the store.
pub fn authenticate(
    request: &ConnectRequest,
    secret_matches: impl Fn(&str, &str) -> bool,
) -> Result<ClientIdentity, LoginRefusal> {
    let login = request.user_name.as_deref().unwrap_or(&request.client_id);
    let identity = ClientIdentity::from_login(login)
        .ok_or_else(|| LoginRefusal::NotAuthorised(format!("{login:?} is not a device id or edge:{{edge node id}}")))?;
    if request.client_id != login {
        return Err(LoginRefusal::NotAuthorised(format!(
            "the client id must be the login {login:?}, not {:?}",
            request.client_id
        )));
    }
    if request.certificate_names.is_empty() {
        if request.user_name.is_none() {
            return Err(LoginRefusal::NotAuthorised(
                "no user name and no client certificate; log in with the device id and its secret".to_owned(),
            ));
        }
        let secret = request.password.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        if secret.is_empty() || !secret_matches(login, &secret) {
            return Err(LoginRefusal::BadCredentials(format!("the secret of {login} does not match")));
        }
    } else if !request.certificate_names.iter().any(|name| name == login) {
        return Err(LoginRefusal::NotAuthorised(format!(
            "the client certificate names {} but the login is {login}",
            request.certificate_names.join(", ")
        )));
    }
    if let Some(topic) = &request.will_topic {
        let allowed = InboundTopic::parse(topic)
            .is_ok_and(|parsed| matches!(parsed, InboundTopic::Status(_)) && identity.may_publish(&parsed));
        if !allowed {
            return Err(LoginRefusal::NotAuthorised(format!(
                "the last will may only be the client's own status topic, not {topic}"
            )));
        }
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client_id: &str, user: Option<&str>, password: Option<&str>) -> ConnectRequest {
        ConnectRequest {
            client_id: client_id.to_owned(),
            user_name: user.map(str::to_owned),
            password: password.map(|p| p.as_bytes().to_vec()),
            ..ConnectRequest::default()
        }
    }

    fn store(login: &str, secret: &str) -> bool {
        (login, secret) == ("inv-1", "dsk_right") || (login, secret) == ("edge:gw-1", "dsk_edge")
    }

    #[test]
    fn the_right_secret_logs_a_device_in_as_itself() {
        let identity = authenticate(&request("inv-1", Some("inv-1"), Some("dsk_right")), store).expect("accepted");
        assert_eq!(identity.login(), "inv-1");
        let edge = authenticate(&request("edge:gw-1", Some("edge:gw-1"), Some("dsk_edge")), store).expect("accepted");
        assert_eq!(edge.login(), "edge:gw-1");
    }

    #[test]
    fn a_wrong_or_missing_secret_is_bad_credentials() {
        for password in [Some("dsk_wrong"), None, Some("")] {
            let refused = authenticate(&request("inv-1", Some("inv-1"), password), store);
            assert!(matches!(refused, Err(LoginRefusal::BadCredentials(_))), "{password:?}: {refused:?}");
        }
    }

    #[test]
    fn another_client_id_or_no_login_is_not_authorised() {
        let cases = [
            request("inv-2", Some("inv-1"), Some("dsk_right")),
            request("", Some("inv-1"), Some("dsk_right")),
            request("inv-1", None, None),
            request("a b", Some("a b"), Some("x")),
        ];
        for case in cases {
            let refused = authenticate(&case, store);
            assert!(matches!(refused, Err(LoginRefusal::NotAuthorised(_))), "{case:?}: {refused:?}");
        }
    }

    #[test]
    fn a_certificate_must_name_the_login() {
        let mut with_certificate = request("inv-1", None, None);
        with_certificate.certificate_names = vec!["inv-1".to_owned()];
        assert!(authenticate(&with_certificate, store).is_ok());
        with_certificate.certificate_names = vec!["inv-2".to_owned()];
        assert!(matches!(authenticate(&with_certificate, store), Err(LoginRefusal::NotAuthorised(_))));
    }

    #[test]
    fn the_last_will_must_be_the_clients_own_status() {
        let mut connect = request("inv-1", Some("inv-1"), Some("dsk_right"));
        connect.will_topic = Some("optibid/v1/devices/inv-1/status".to_owned());
        assert!(authenticate(&connect, store).is_ok());
        for topic in ["optibid/v1/devices/inv-2/status", "optibid/v1/devices/inv-1/telemetry", "other"] {
            connect.will_topic = Some(topic.to_owned());
            assert!(matches!(authenticate(&connect, store), Err(LoginRefusal::NotAuthorised(_))), "{topic}");
        }
    }
}
