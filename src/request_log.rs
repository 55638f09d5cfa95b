//! `-v`: every API request logged as kubectl's `-v=6` does, one line each when its answer's
//! headers arrive: method, URL, status, latency ("GET https://…/api/v1/… 200 OK in 5
//! milliseconds"). A watch logs when it is answered, not when it ends.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

/// The target the lines are logged under (`-v` turns it on).
pub(crate) const TARGET: &str = "kubectl_vmchaos::http";

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestLogLayer;

impl<S> tower::Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLog { inner }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RequestLog<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for RequestLog<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let line = format!("{} {}", request.method(), request.uri());
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let ms = started.elapsed().as_millis();
            match &result {
                Ok(response) => {
                    let status = response.status();
                    tracing::info!(
                        target: TARGET,
                        "{line} {} {} in {ms} milliseconds",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("")
                    );
                }
                Err(e) => tracing::info!(target: TARGET, "{line} failed in {ms} milliseconds: {e}"),
            }
            result
        })
    }
}
