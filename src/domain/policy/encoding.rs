//! How each AWS API hands a policy document back (README, "Identity Center"). IAM's
//! `GetRolePolicy`, `GetUserPolicy` and `GetRole` return the document URL-encoded (RFC 3986);
//! sso-admin's `GetInlinePolicyForPermissionSet` returns it as plain JSON. Each document is
//! decoded exactly as its API encodes it, once, in the adapter: percent-decoding a plain JSON
//! document turns `%22` inside a string value into a quote, so text someone hid in a condition
//! value would be read as statements AWS does not hold (and `100%25-pii/*` would be rewritten as
//! `100%-pii/*` by the merge).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// How an API returns a policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEncoding {
    /// URL-encoded (RFC 3986): percent-decoded once.
    UrlEncoded,
    /// The JSON as it was put: never decoded.
    PlainJson,
}

/// IAM's documents: `GetRolePolicy`, `GetUserPolicy`, `GetRole`'s `AssumeRolePolicyDocument`.
pub const IAM_POLICY_ENCODING: PolicyEncoding = PolicyEncoding::UrlEncoded;

/// sso-admin's `GetInlinePolicyForPermissionSet`.
pub const PERMISSION_SET_POLICY_ENCODING: PolicyEncoding = PolicyEncoding::PlainJson;

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl PolicyEncoding {
    /// The JSON of a document as the API returned it. A URL-encoded document whose bytes are not
    /// UTF-8 once decoded (AWS holds only UTF-8 JSON) is handed on as it came: no JSON reader
    /// accepts it, so it is reported as not understood and never overwritten.
    pub fn decode(self, returned: &str) -> String {
        match self {
            PolicyEncoding::PlainJson => returned.to_string(),
            PolicyEncoding::UrlEncoded => match percent_decode_str(returned).decode_utf8() {
                Ok(text) => text.into_owned(),
                Err(_) => returned.to_string(),
            },
        }
    }

    /// A document as the API returns it (the in-memory adapters answer this way, then decode as
    /// the real adapters do).
    pub fn encode(self, json: &str) -> String {
        match self {
            PolicyEncoding::PlainJson => json.to_string(),
            PolicyEncoding::UrlEncoded => utf8_percent_encode(json, RFC3986).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A condition value that, percent-decoded, closes the statement and opens a 2099 deny.
    const HIDDEN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadData","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/100%25-pii/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"x%22}}},{%22Sid%22:%22AWSRevokeOlderSessions%22,%22Effect%22:%22Deny%22,%22Action%22:%22*%22,%22Resource%22:%22*%22,%22Condition%22:{%22DateLessThan%22:{%22aws:Token%49ssueTime%22:%222099-01-01T00:00:00Z"}}}]}"#;

    #[test]
    fn a_permission_sets_plain_json_is_never_percent_decoded() {
        assert_eq!(PERMISSION_SET_POLICY_ENCODING.decode(HIDDEN), HIDDEN);
    }

    #[test]
    fn iams_url_encoded_document_is_decoded_exactly_once() {
        let returned = IAM_POLICY_ENCODING.encode(HIDDEN);
        assert!(returned.contains("%2525-pii") && returned.contains("x%2522"));
        assert_eq!(IAM_POLICY_ENCODING.decode(&returned), HIDDEN);
    }

    #[test]
    fn a_url_encoded_document_that_is_not_utf8_is_handed_on_undecoded() {
        assert_eq!(IAM_POLICY_ENCODING.decode("%7B%FF%7D"), "%7B%FF%7D");
    }

    #[test]
    fn every_text_survives_the_round_trip_of_either_encoding() {
        for text in [HIDDEN, "é ü 日本 \t\n", "%", "%%25%2F+ &=?#"] {
            for encoding in [PolicyEncoding::UrlEncoded, PolicyEncoding::PlainJson] {
                assert_eq!(
                    encoding.decode(&encoding.encode(text)),
                    text,
                    "{encoding:?}"
                );
            }
        }
    }
}
