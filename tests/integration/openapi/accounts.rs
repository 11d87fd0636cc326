//! The open endpoints, sessions, users, personal API keys and projects, as documented.

use serde_json::json;

use super::Walk;

/// The open endpoints, the first account, sessions and users; leaves a `*` key in `w.key`.
pub fn accounts(w: &mut Walk) {
    w.expect(200, "get", "/_health", "/_health", None);
    w.expect(200, "get", "/metrics", "/metrics", None);
    w.expect(200, "get", "/api/", "/api/", None);
    w.expect(200, "get", "/api/schema/", "/api/schema", None);
    let state = w.expect(200, "get", "/api/auth/state", "/api/auth/state", None);
    assert_eq!(state["needs_setup"], true);
    // Without --oidc-issuer there is no single sign-on (its redirects: `sso::`).
    for path in ["/api/auth/sso/start", "/api/auth/sso/callback"] {
        w.expect(404, "get", path, path, None);
    }
    w.expect(
        400,
        "post",
        "/api/auth/setup",
        "/api/auth/setup/",
        Some(json!({"email": "a@b"})),
    );
    let creds = json!({"email": "admin@localhost", "password": "correct horse"});
    w.expect(
        201,
        "post",
        "/api/auth/setup",
        "/api/auth/setup/",
        Some(creds.clone()),
    );
    w.expect(
        403,
        "post",
        "/api/auth/setup",
        "/api/auth/setup/",
        Some(creds.clone()),
    );
    w.expect(
        200,
        "post",
        "/api/auth/login",
        "/api/auth/login/",
        Some(creds),
    );
    let wrong = json!({"email": "admin@localhost", "password": "wrong horse"});
    w.expect(
        401,
        "post",
        "/api/auth/login",
        "/api/auth/login/",
        Some(wrong),
    );
    w.key = w.s.key("*");
    w.expect(204, "post", "/api/auth/logout", "/api/auth/logout/", None);
    let none = w.call_as("", "post", "/api/auth/logout", "/api/auth/logout/", None);
    assert_eq!(none.status, 403);
    let me = w.expect(200, "get", "/api/users/@me/", "/api/users/@me/", None);
    assert_eq!(me["email"], "admin@localhost");
    assert_eq!(
        w.call_as("phx_nope", "get", "/api/users/@me/", "/api/users/@me", None)
            .status,
        401
    );
    let made = w.expect(
        201,
        "post",
        "/api/users/",
        "/api/users/",
        Some(json!({"email": "bo@localhost"})),
    );
    assert!(made["password"].is_string());
    w.expect(
        400,
        "post",
        "/api/users/",
        "/api/users/",
        Some(json!({"email": ""})),
    );
    w.expect(
        400,
        "post",
        "/api/users/",
        "/api/users/",
        Some(json!({"email": "bo@localhost"})),
    );
    let users = w.expect(200, "get", "/api/users/", "/api/users/", None);
    assert_eq!(users["count"], 2);
}

pub fn keys_and_projects(w: &Walk) {
    let keys = "/api/personal_api_keys/";
    let made = w.expect(
        201,
        "post",
        keys,
        keys,
        Some(json!({"label": "ci", "scopes": ["task:read"], "scoped_teams": [1]})),
    );
    w.expect(
        400,
        "post",
        keys,
        keys,
        Some(json!({"label": "ci", "scopes": []})),
    );
    w.expect(
        400,
        "post",
        keys,
        keys,
        Some(json!({"label": "ci", "scopes": ["nope"]})),
    );
    let listed = w.expect(200, "get", keys, keys, None);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let one = "/api/personal_api_keys/{key_id}/";
    let path = format!("{keys}{}/", made["id"].as_str().unwrap());
    w.expect(204, "delete", one, &path, None);
    w.expect(404, "delete", one, &path, None);
    let reader = made["value"].as_str().unwrap();
    assert_eq!(w.call_as(reader, "get", keys, keys, None).status, 401);

    let projects = "/api/projects/";
    w.expect(
        201,
        "post",
        projects,
        projects,
        Some(json!({"name": "Second"})),
    );
    w.expect(400, "post", projects, projects, Some(json!({"name": " "})));
    let page = w.expect(200, "get", projects, "/api/projects/?limit=1", None);
    assert_eq!(page["count"], 2);
    assert!(page["next"].is_string());
    w.expect(400, "get", projects, "/api/projects/?limit=-1", None);
    let one = "/api/projects/{project_id}/";
    w.expect(200, "get", one, "/api/projects/1/", None);
    w.expect(200, "get", one, "/api/projects/@current/", None);
    w.expect(404, "get", one, "/api/projects/999/", None);
    w.expect(404, "get", one, "/api/projects/nope/", None);
    w.s.integration("acme");
    let integrations = "/api/projects/{project_id}/integrations/";
    let list = w.expect(
        200,
        "get",
        integrations,
        "/api/projects/1/integrations/",
        None,
    );
    assert_eq!(list["count"], 1);
}
