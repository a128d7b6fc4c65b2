//! Which methods each path answers, read from the OpenAPI document, so that a known path asked
//! with another method answers 405 with `Allow` rather than 404.

use super::error::ApiError;
use super::openapi::ApiDoc;
use actix_web::http::header::ALLOW;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use std::sync::OnceLock;
use utoipa::openapi::PathItem;
use utoipa::OpenApi;

/// Paths served outside the OpenAPI document, all read-only (besides the dashboard's files).
const PLAIN_GET_PATHS: [&str; 5] = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/api/docs"];

/// One segment of a path template.
#[derive(Debug, PartialEq)]
enum Segment {
    /// Must be exactly this text.
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Parameter,
}

/// A path template and the methods it answers.
#[derive(Debug)]
struct Route {
    segments: Vec<Segment>,
    methods: Vec<&'static str>,
}

impl Route {
    fn new(template: &str, methods: Vec<&'static str>) -> Self {
        let segments = template
            .split('/')
            .filter(|part| !part.is_empty())
            .map(|part| {
                if part.starts_with('{') && part.ends_with('}') {
                    Segment::Parameter
                } else {
                    Segment::Literal(part.to_owned())
                }
            })
            .collect();
        Self { segments, methods }
    }

    fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        parts.len() == self.segments.len()
            && self.segments.iter().zip(&parts).all(|(segment, part)| match segment {
                Segment::Literal(text) => text == part,
                Segment::Parameter => true,
            })
    }
}

/// Methods in the order `Allow` lists them.
const METHOD_ORDER: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The methods a path item documents.
fn documented_methods(item: &PathItem) -> Vec<&'static str> {
    let present = [
        item.get.is_some(),
        item.head.is_some(),
        item.post.is_some(),
        item.put.is_some(),
        item.patch.is_some(),
        item.delete.is_some(),
        item.options.is_some(),
    ];
    METHOD_ORDER.into_iter().zip(present).filter_map(|(method, present)| present.then_some(method)).collect()
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let document = ApiDoc::openapi();
        let documented =
            document.paths.paths.iter().map(|(template, item)| Route::new(template, documented_methods(item)));
        let plain = PLAIN_GET_PATHS.iter().map(|path| Route::new(path, vec!["GET"]));
        let dashboard = super::dashboard::paths().map(|path| Route::new(path, vec!["GET", "HEAD"]));
        documented.chain(plain).chain(dashboard).collect()
    })
}

/// The methods `path` answers, or `None` when no route has this path.
pub fn allowed_methods(path: &str) -> Option<Vec<&'static str>> {
    let matching: Vec<&Route> = routes().iter().filter(|route| route.matches(path)).collect();
    let allowed: Vec<&'static str> =
        METHOD_ORDER.into_iter().filter(|method| matching.iter().any(|route| route.methods.contains(method))).collect();
    (!allowed.is_empty()).then_some(allowed)
}

/// The answer to a request no route took: 405 with `Allow` for a known path, else 404.
pub async fn unmatched(request: HttpRequest) -> HttpResponse {
    match allowed_methods(request.path()) {
        Some(allowed) => {
            let error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} does not answer {}; it answers {}", request.path(), request.method(), allowed.join(", ")),
            );
            let mut response = error.error_response();
            response
                .headers_mut()
                .insert(ALLOW, allowed.join(", ").parse().expect("method names are valid header text"));
            response
        }
        None => ApiError::not_found(format!("no route {} {}", request.method(), request.path())).error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_matches_one_segment_only() {
        let route = Route::new("/api/v1/devices/{id}", vec!["GET"]);
        assert!(route.matches("/api/v1/devices/inv-1"));
        assert!(route.matches("/api/v1/devices/inv-1/"));
        assert!(!route.matches("/api/v1/devices"));
        assert!(!route.matches("/api/v1/devices/inv-1/status"));
        assert!(!route.matches("/api/v1/edge-nodes/inv-1"));
    }

    #[test]
    fn every_method_of_a_path_is_allowed() {
        assert_eq!(allowed_methods("/api/v1/devices"), Some(vec!["GET", "POST"]));
        assert_eq!(allowed_methods("/api/v1/devices/any/configuration"), Some(vec!["PUT"]));
        assert_eq!(allowed_methods("/healthz"), Some(vec!["GET"]));
        assert_eq!(allowed_methods("/api/v1/nothing-here"), None);
    }
}
