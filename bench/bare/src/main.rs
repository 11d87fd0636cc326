use actix_web::{web, App, HttpResponse, HttpServer};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection};
use std::sync::Mutex;

struct St {
    pool: r2d2::Pool<SqliteConnectionManager>,
    w: Mutex<Connection>,
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn get(st: web::Data<St>, id: web::Path<String>) -> HttpResponse {
    let st2 = st.clone();
    let r = web::block(move || {
        let c = st2.pool.get().unwrap();
        let mut s = c.prepare_cached("SELECT id, number, title, description, repository, created_at FROM tasks WHERE id = ?1").unwrap();
        s.query_row([id.as_str()], |r| Ok(serde_json::json!({"id": r.get::<_,String>(0)?, "task_number": r.get::<_,i64>(1)?, "title": r.get::<_,String>(2)?, "description": r.get::<_,String>(3)?, "repository": r.get::<_,String>(4)?, "created_at": r.get::<_,String>(5)?}))).map_err(|e| e.to_string())
    }).await.unwrap();
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => HttpResponse::NotFound().body(e),
    }
}

fn insert(c: &mut Connection, b: &serde_json::Value) -> serde_json::Value {
    let tx = c.transaction().unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    let n: i64 = tx.prepare_cached("INSERT INTO tasks(id, number, title, description, repository, created_at) VALUES (?1, (SELECT coalesce(max(number),0)+1 FROM tasks), ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ','now')) RETURNING number").unwrap()
        .query_row(params![id, b["title"].as_str().unwrap_or(""), b["description"].as_str().unwrap_or(""), b["repository"].as_str().unwrap_or("")], |r| r.get(0)).unwrap();
    tx.commit().unwrap();
    serde_json::json!({"id": id, "task_number": n, "title": b["title"], "description": b["description"], "repository": b["repository"]})
}

async fn create(st: web::Data<St>, body: web::Bytes) -> HttpResponse {
    let b: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
    };
    let st2 = st.clone();
    let v = web::block(move || {
        let mut c = st2.w.lock().unwrap();
        insert(&mut c, &b)
    })
    .await
    .unwrap();
    HttpResponse::Created().json(v)
}

async fn append(st: web::Data<St>, body: web::Bytes) -> HttpResponse {
    let b: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
    };
    let st2 = st.clone();
    let n = web::block(move || {
        let mut c = st2.w.lock().unwrap();
        let tx = c.transaction().unwrap();
        let entries = b["entries"].as_array().cloned().unwrap_or_default();
        {
            let mut s = tx.prepare_cached("INSERT INTO log(run, seq, entry) VALUES ('r', (SELECT coalesce(max(seq),0)+1 FROM log WHERE run='r'), ?1)").unwrap();
            for e in &entries { s.execute([e.to_string()]).unwrap(); }
        }
        tx.commit().unwrap();
        entries.len()
    }).await.unwrap();
    HttpResponse::Ok().json(serde_json::json!({"appended": n}))
}

fn setup(path: &str) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    )
    .unwrap();
    c
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap();
    let mut w = setup(&path);
    w.execute_batch("CREATE TABLE IF NOT EXISTS tasks(id TEXT PRIMARY KEY, number INTEGER UNIQUE, title TEXT, description TEXT, repository TEXT, created_at TEXT); CREATE TABLE IF NOT EXISTS log(run TEXT, seq INTEGER, entry TEXT, PRIMARY KEY(run, seq));").unwrap();
    let b = serde_json::json!({"title":"Benchmark task","description":"Fix the flaky login test on the checkout page; it fails one run in ten on CI.","repository":"acme/web"});
    let mut ids = Vec::new();
    for _ in 0..10000 {
        ids.push(insert(&mut w, &b)["id"].as_str().unwrap().to_string());
    }
    std::fs::write(
        format!("{path}.paths"),
        ids.iter().map(|i| format!("/t/{i}\n")).collect::<String>(),
    )
    .unwrap();
    let pool = r2d2::Pool::builder()
        .max_size(4)
        .build(
            SqliteConnectionManager::file(&path)
                .with_init(|c| c.execute_batch("PRAGMA busy_timeout=5000;")),
        )
        .unwrap();
    let st = web::Data::new(St {
        pool,
        w: Mutex::new(w),
    });
    println!("ready");
    HttpServer::new(move || {
        App::new()
            .app_data(st.clone())
            .route("/h", web::get().to(health))
            .route("/t/{id}", web::get().to(get))
            .route("/t", web::post().to(create))
            .route("/a", web::post().to(append))
    })
    .bind("127.0.0.1:18181")?
    .run()
    .await
}
