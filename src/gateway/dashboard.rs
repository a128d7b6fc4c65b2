//! The operator dashboard: the files of `dashboard/`, embedded in the binary at build time (no
//! build step, nothing fetched at run time), served at `/` and beside it, each with an ETag (the
//! BLAKE3 of its bytes) so a browser revalidates instead of downloading again.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
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
    bytes: &'static [u8],
    etag: String,
    content_type: &'static str,
}

/// Every embedded file by the URL path it answers (`/app.js`); `/` is `index.html`.
fn assets() -> &'static BTreeMap<String, Asset> {
    static ASSETS: OnceLock<BTreeMap<String, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut assets = BTreeMap::new();
        let mut folders = vec![&SOURCES];
        while let Some(folder) = folders.pop() {
            folders.extend(folder.dirs());
            for file in folder.files() {
                let path = file.path().to_string_lossy().replace('\\', "/");
                let Some(content_type) = content_type(&path) else { continue };
                let etag = format!("\"{}\"", &blake3::hash(file.contents()).to_hex()[..32]);
                let asset = Asset { bytes: file.contents(), etag, content_type };
                let url = if path == "index.html" { "/".to_owned() } else { format!("/{path}") };
                assets.insert(url, asset);
            }
        }
        assets
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
        HttpResponse::Ok().content_type(asset.content_type).body(asset.bytes)
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
