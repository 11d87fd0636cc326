//! Tasks as documented: create, list with filters and paging, update, run, delete.

use serde_json::json;

use super::Walk;
use crate::harness::task_body;

/// Tasks: create, list, filters, update, run, delete. Returns a live task's id.
pub fn tasks(w: &Walk) -> String {
    let list = "/api/projects/{project_id}/tasks/";
    let schema = json!({"type": "object", "required": ["ok"]});
    let extra = json!({"repository": "Acme/Web", "github_integration": 1, "json_schema": schema, "assignee": "bot"});
    let task = w.expect(
        201,
        "post",
        list,
        "/api/projects/1/tasks/",
        Some(task_body(extra)),
    );
    w.expect(
        201,
        "post",
        list,
        "/api/projects/@current/tasks/",
        Some(task_body(json!({}))),
    );
    w.expect(
        400,
        "post",
        list,
        "/api/projects/1/tasks/",
        Some(json!({"origin_product": "user_created"})),
    );
    w.expect(
        400,
        "post",
        list,
        "/api/projects/1/tasks/",
        Some(task_body(json!({"repository": "no-slash"}))),
    );
    let id = task["id"].as_str().unwrap().to_string();
    for query in [
        "",
        "?limit=1",
        "?limit=1&offset=1",
        "?repository=web&organization=acme&search=flaky",
        "?origin_product=slack&stage=build&created_by=1",
        "?limit=5000&offset=99999999999999999999",
    ] {
        w.expect(
            200,
            "get",
            list,
            &format!("/api/projects/1/tasks/{query}"),
            None,
        );
    }
    for query in ["?limit=0", "?offset=-1", "?limit=ten", "?created_by=me"] {
        w.expect(
            400,
            "get",
            list,
            &format!("/api/projects/1/tasks/{query}"),
            None,
        );
    }
    let one = "/api/projects/{project_id}/tasks/{task_id}/";
    let path = format!("/api/projects/1/tasks/{id}/");
    w.expect(200, "get", one, &path, None);
    w.expect(404, "get", one, "/api/projects/1/tasks/not-a-uuid/", None);
    w.expect(
        200,
        "patch",
        one,
        &path,
        Some(json!({"title": "Renamed", "repository": null})),
    );
    w.expect(
        400,
        "patch",
        one,
        &path,
        Some(json!({"origin_product": "nope"})),
    );
    w.expect(
        200,
        "put",
        one,
        &path,
        Some(task_body(json!({"json_schema": schema}))),
    );
    w.expect(400, "put", one, &path, Some(json!({"title": "only"})));
    let ran = w.expect(
        200,
        "post",
        "/api/projects/{project_id}/tasks/{task_id}/run/",
        &format!("{path}run/"),
        None,
    );
    assert_eq!(ran["latest_run"]["status"], "queued");
    let doomed = w.expect(
        201,
        "post",
        list,
        "/api/projects/1/tasks/",
        Some(task_body(json!({}))),
    );
    let doomed = format!("/api/projects/1/tasks/{}/", doomed["id"].as_str().unwrap());
    w.expect(204, "delete", one, &doomed, None);
    w.expect(404, "delete", one, &doomed, None);
    w.expect(
        404,
        "post",
        "/api/projects/{project_id}/tasks/{task_id}/run/",
        &format!("{doomed}run/"),
        None,
    );
    id
}
