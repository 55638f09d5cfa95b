//! The cluster's credentials, generated fresh for every cluster: a serving CA and a separate
//! server certificate (rustls rejects a self-signed leaf used as its own CA), the front-proxy CA
//! and client certificate for API aggregation, the service-account key pair, and static tokens.

use std::{fs, path::Path};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The users of `--token-auth-file`: `admin` is in `system:masters`; the others have no
/// permission until a test binds a role to them.
pub const RESTRICTED_USERS: [&str; 3] = ["alice", "bob", "carol"];

const CA_NAME: &str = "vmchaos-test-ca";

/// The common name of the front-proxy client certificate, and `--requestheader-allowed-names`.
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";

/// File paths of everything generated, under `<dir>/pki`.
pub struct Pki {
    pub ca_pem: String,
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub front_proxy_ca: String,
    pub front_proxy_client_cert: String,
    pub front_proxy_client_key: String,
    pub service_account_pub: String,
    pub service_account_key: String,
    pub tokens_csv: String,
    /// (user, token), admin first.
    pub tokens: Vec<(String, String)>,
}

fn ca_params(name: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn leaf_params(
    common_name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// 128 random bits, hex: a bearer token nobody can guess, even on a shared machine.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    let mut urandom = fs::File::open("/dev/urandom").context("failed to open /dev/urandom")?;
    std::io::Read::read_exact(&mut urandom, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every file here is a credential or vouches for one: owner-only (0600).
fn write(path: &Path, contents: &str) -> Result<String> {
    crate::control_plane::write_private(path, contents)?;
    Ok(path.display().to_string())
}

/// Generates all credentials into `<dir>/pki`.
pub fn generate(dir: &Path) -> Result<Pki> {
    let pki = dir.join("pki");
    fs::create_dir_all(&pki)?;

    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params(CA_NAME)?, ca_key)?;
    let server_key = KeyPair::generate()?;
    let server = leaf_params(
        "kube-apiserver",
        &["127.0.0.1", "localhost", "kubernetes.default.svc"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?
    .signed_by(&server_key, &ca)?;

    let proxy_ca =
        CertifiedIssuer::self_signed(ca_params("vmchaos-front-proxy-ca")?, KeyPair::generate()?)?;
    let proxy_key = KeyPair::generate()?;
    let proxy = leaf_params(FRONT_PROXY_CLIENT, &[], ExtendedKeyUsagePurpose::ClientAuth)?
        .signed_by(&proxy_key, &proxy_ca)?;

    let sa_key = KeyPair::generate()?;
    // Kept so a test can issue client certificates later (`issue_client_certificate`): the
    // API server's --client-ca-file is this same CA.
    write(&pki.join("ca-key.pem"), &ca_key_pem)?;

    let mut tokens = vec![("admin".to_string(), random_token()?)];
    for user in RESTRICTED_USERS {
        tokens.push((user.to_string(), random_token()?));
    }
    let csv: String = tokens
        .iter()
        .map(|(user, token)| {
            let groups = if user == "admin" {
                "system:masters"
            } else {
                ""
            };
            format!("{token},{user},{user},\"{groups}\"\n")
        })
        .collect();

    Ok(Pki {
        ca_pem: ca.pem(),
        ca: write(&pki.join("ca.pem"), &ca.pem())?,
        server_cert: write(&pki.join("server.pem"), &server.pem())?,
        server_key: write(&pki.join("server-key.pem"), &server_key.serialize_pem())?,
        front_proxy_ca: write(&pki.join("front-proxy-ca.pem"), &proxy_ca.pem())?,
        front_proxy_client_cert: write(&pki.join("front-proxy-client.pem"), &proxy.pem())?,
        front_proxy_client_key: write(
            &pki.join("front-proxy-client-key.pem"),
            &proxy_key.serialize_pem(),
        )?,
        service_account_pub: write(&pki.join("sa.pub"), &sa_key.public_key_pem())?,
        service_account_key: write(&pki.join("sa-key.pem"), &sa_key.serialize_pem())?,
        tokens_csv: write(&pki.join("tokens.csv"), &csv)?,
        tokens,
    })
}

/// A client certificate signed by the cluster's CA (the API server's --client-ca-file): the
/// API server takes the common name as the user and each organization as a group. Returns the
/// certificate and key PEM.
pub fn issue_client_certificate(
    pki_dir: &Path,
    user: &str,
    groups: &[&str],
) -> Result<(String, String)> {
    let ca_key = KeyPair::from_pem(&fs::read_to_string(pki_dir.join("ca-key.pem"))?)?;
    // The CA's own parameters and key: the same subject and key identifier as ca.pem.
    let issuer = rcgen::Issuer::new(ca_params(CA_NAME)?, ca_key);
    let mut params = leaf_params(user, &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    for group in groups {
        params
            .distinguished_name
            .push(DnType::OrganizationName, *group);
    }
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A serving certificate for these names (DNS names or IP addresses), signed by the cluster's
/// CA, so that the API server (which trusts that CA in a `caBundle`) can dial it: certificate
/// and key PEM.
pub fn issue_serving_certificate(
    pki_dir: &Path,
    common_name: &str,
    sans: &[&str],
) -> Result<(String, String)> {
    let ca_key = KeyPair::from_pem(&fs::read_to_string(pki_dir.join("ca-key.pem"))?)?;
    let issuer = rcgen::Issuer::new(ca_params(CA_NAME)?, ca_key);
    let mut params = leaf_params(common_name, sans, ExtendedKeyUsagePurpose::ServerAuth)?;
    params
        .extended_key_usages
        .push(ExtendedKeyUsagePurpose::ClientAuth);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}
