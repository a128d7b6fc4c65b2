//! The operator dashboard: the files of `dashboard/`, embedded in the binary at build time (no
//! build step, nothing fetched at run time), served at `/` and beside it, each with an ETag (the
//! BLAKE3 of its bytes) so a browser revalidates instead of downloading again. The page names
//! every module it may import as a `modulepreload` link, so the browser fetches them all at
//! once instead of discovering them import by import.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use include_dir::{include_dir, Dir};
use std::collections::BTreeMap;
use std::sync::OnceLock;

static SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/dashboard");

/// How long a browser may use a file without asking again, seconds. Short, so a new build of the
/// platform reaches open dashboards quickly; the ETag makes asking cheap.
const MAX_AGE_SECS: u32 = 60;

/// One embedded file, ready to serve.
struct Asset {
    bytes: Bytes,
    etag: String,
    content_type: &'static str,
}

/// Every embedded file by the URL path it answers (`/app.js`); `/` is `index.html`.
fn assets() -> &'static BTreeMap<String, Asset> {
    static ASSETS: OnceLock<BTreeMap<String, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut files = BTreeMap::new();
        let mut folders = vec![&SOURCES];
        while let Some(folder) = folders.pop() {
            folders.extend(folder.dirs());
            for file in folder.files() {
                let path = file.path().to_string_lossy().replace('\\', "/");
                if let Some(content_type) = content_type(&path) {
                    files.insert(format!("/{path}"), (content_type, Bytes::from_static(file.contents())));
                }
            }
        }
        let modules: Vec<String> =
            files.keys().filter(|url| url.ends_with(".js") || url.ends_with(".mjs")).cloned().collect();
        if let Some((_, page)) = files.remove("/index.html") {
            files.insert("/".to_owned(), ("text/html; charset=utf-8", with_module_preloads(&page, &modules)));
        }
        files
            .into_iter()
            .map(|(url, (content_type, bytes))| {
                let etag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
                (url, Asset { bytes, etag, content_type })
            })
            .collect()
    })
}

/// `page` with a `modulepreload` link for each of `modules` at the end of its head.
fn with_module_preloads(page: &[u8], modules: &[String]) -> Bytes {
    let page = String::from_utf8_lossy(page);
    let links: String = modules.iter().map(|url| format!("  <link rel=\"modulepreload\" href=\"{url}\">\n")).collect();
    Bytes::from(match page.find("</head>") {
        Some(end) => format!("{}{links}{}", &page[..end], &page[end..]),
        None => page.into_owned(),
    })
}

/// The media type of a file the dashboard serves; `None` for files it does not serve (licences
/// and the helpers' unit tests stay in the source tree).
fn content_type(path: &str) -> Option<&'static str> {
    if path.ends_with(".test.js") {
        return None;
    }
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => Some("text/html; charset=utf-8"),
        Some("js" | "mjs") => Some("text/javascript; charset=utf-8"),
        Some("css") => Some("text/css; charset=utf-8"),
        Some("svg") => Some("image/svg+xml"),
        Some("json") => Some("application/json"),
        _ => None,
    }
}

/// The URL paths of the dashboard's files, all answering GET and HEAD.
pub fn paths() -> impl Iterator<Item = &'static str> {
    assets().keys().map(String::as_str)
}

/// Registers one route per embedded file.
pub fn routes(config: &mut web::ServiceConfig) {
    for path in paths() {
        config.service(web::resource(path).route(web::get().to(serve)).route(web::head().to(serve)));
    }
}

#[tracing::instrument(name = "dashboard_file", skip_all, fields(path = %request.path()))]
async fn serve(request: HttpRequest) -> HttpResponse {
    let Some(asset) = assets().get(request.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let cache = format!("public, max-age={MAX_AGE_SECS}, must-revalidate");
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == asset.etag || tag.trim() == "*"));
    let mut response = if unchanged {
        HttpResponse::build(StatusCode::NOT_MODIFIED).finish()
    } else {
        HttpResponse::Ok().content_type(asset.content_type).body(asset.bytes.clone())
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(cache) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, cache);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_preloads_every_module_in_its_head_and_nothing_else() {
        let page = String::from_utf8_lossy(&assets()["/"].bytes).into_owned();
        let head = &page[..page.find("</head>").expect("a head")];
        let modules: Vec<&str> = paths().filter(|url| url.ends_with(".js") || url.ends_with(".mjs")).collect();
        assert!(modules.contains(&"/app.js") && modules.contains(&"/vendor/uplot.mjs"), "{modules:?}");
        for url in &modules {
            assert!(head.contains(&format!(r#"<link rel="modulepreload" href="{url}">"#)), "{url} is not preloaded");
        }
        assert_eq!(head.matches("modulepreload").count(), modules.len());
        assert!(!paths().any(|url| url == "/index.html"), "the page is served at / only");
    }
}
