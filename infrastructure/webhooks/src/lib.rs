//! [`WebhookSender`] on reqwest: one POST per attempt, redirects never followed, a timeout, and — unless private targets are allowed — no connection to a loopback, private or link-local address, whether the URL names it or its host resolves to it (checked on the addresses actually dialled, so a name re-pointed after the check gets nowhere).

use application::ports::{PostOutcome, SignedPost, WebhookSender};
use async_trait::async_trait;
use domain::webhook::is_private_address;
use domain::WebhookUrl;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The `User-Agent` of every post.
const USER_AGENT: &str = concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION"));

/// Where and how the sender may post.
#[derive(Debug, Clone, Copy)]
pub struct SenderSettings {
    /// How long one post may take, connecting included (`webhooks.timeout_ms`).
    pub timeout: Duration,
    /// `webhooks.allow_private_targets`: post to loopback and private networks too.
    pub allow_private: bool,
}

pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    pub fn new(settings: SenderSettings) -> Result<Self, reqwest::Error> {
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(USER_AGENT);
        if !settings.allow_private {
            client = client.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: client.build()?,
            allow_private: settings.allow_private,
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, post: &SignedPost) -> PostOutcome {
        // A literal address is dialled without resolution, so it is checked here.
        let names_private = WebhookUrl::parse(&post.url).map(|url| url.names_a_private_target());
        if !self.allow_private && names_private.unwrap_or(true) {
            return PostOutcome::Failed(REFUSED.into());
        }
        let mut request = self.client.post(&post.url).body(post.body.clone());
        for (name, value) in &post.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => PostOutcome::Answered(response.status().as_u16()),
            Err(error) => PostOutcome::Failed(reason(&error)),
        }
    }
}

const REFUSED: &str =
    "refused: the target is a loopback, private or link-local address (webhooks.allow_private_targets is off)";

/// Resolves names as the system does, keeping only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = (found.into_iter())
                .filter(|addr| !is_private_address(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host}: {REFUSED}").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The error with its causes, which say what went wrong (the outermost only says "error
/// sending request").
fn reason(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn sender(allow_private: bool) -> HttpWebhookSender {
        let settings = SenderSettings {
            timeout: Duration::from_millis(500),
            allow_private,
        };
        HttpWebhookSender::new(settings).unwrap()
    }

    fn post(url: String) -> SignedPost {
        SignedPost {
            url,
            headers: vec![("webhook-id", "evt_1".into())],
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn a_post_carries_its_headers_and_reports_the_status() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/in"))
            .and(header("webhook-id", "evt_1"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let outcome = sender(true)
            .post(&post(format!("{}/in", server.uri())))
            .await;
        assert_eq!(outcome, PostOutcome::Answered(503));
    }

    #[tokio::test]
    async fn a_redirect_is_reported_not_followed() {
        let server = MockServer::start().await;
        let elsewhere = format!("{}/elsewhere", server.uri());
        Mock::given(path("/in"))
            .respond_with(ResponseTemplate::new(307).insert_header("location", elsewhere))
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let outcome = sender(true)
            .post(&post(format!("{}/in", server.uri())))
            .await;
        assert_eq!(outcome, PostOutcome::Answered(307));
    }

    #[tokio::test]
    async fn private_targets_are_refused_by_address_and_by_name_unless_allowed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let port = server.address().port();
        for url in [
            format!("http://127.0.0.1:{port}/in"),
            format!("http://localhost:{port}/in"),
        ] {
            let PostOutcome::Failed(reason) = sender(false).post(&post(url.clone())).await else {
                panic!("{url} was posted to");
            };
            assert!(reason.contains("refused"), "{reason}");
        }
        // A name that is not `localhost` but resolves to loopback is refused at resolution.
        let resolved = PublicOnly.resolve("localhost.".parse().unwrap()).await;
        assert!(resolved.is_err());
    }
}
