//! The console over plain HTTP, as a browser without JavaScript uses it.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::TestApp;

pub struct Reply {
    pub status: u16,
    pub cookies: Vec<String>,
    pub location: String,
    pub body: String,
}

/// Sends a form (`application/x-www-form-urlencoded`) with a cookie.
pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    form: &str,
) -> Reply {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    send_body(app, method, path, cookie, &all, form.as_bytes().to_vec()).await
}

/// Sends any body; `headers` carry its content type.
pub async fn send_body(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{path}", app.server))
        .header("cookie", cookie);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client.request(request.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let cookies =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let location =
        response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body =
        String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Reply { status, cookies, location, body }
}

pub fn value_of(cookie: &str) -> String {
    cookie.split(';').next().unwrap().to_owned()
}

pub fn hidden_csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Logs in through the form (password `correct horse battery`); returns the session
/// cookie and the console's CSRF token.
pub async fn log_in(app: &TestApp, login: &str) -> (String, String) {
    let page = send(app, "GET", "/login", "", &[], "").await;
    let login_cookie = value_of(&page.cookies[0]);
    let form = format!("login={login}&password=correct+horse+battery&csrf={}", hidden_csrf(&page.body));
    let done = send(app, "POST", "/login", &login_cookie, &[], &form).await;
    assert_eq!((done.status, done.location.as_str()), (303, "/console"));
    let session = done.cookies.iter().find(|c| c.starts_with("solidaire_session=")).unwrap().clone();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Secure"), "public_url is https: {session}");
    let cookie = value_of(&session);
    let console = send(app, "GET", "/console", &cookie, &[], "").await;
    assert_eq!(console.status, 200);
    (cookie, hidden_csrf(&console.body))
}
