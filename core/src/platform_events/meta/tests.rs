//! Meta's handshake, signature and payloads, from the docs' examples (sources in the module's
//! comment; the research notes of 2026-12-07 reproduce them).

use super::*;
use serde_json::json;

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn handshake_echoes_the_challenge_for_the_right_token_only() {
    // The getting-started page's sample GET.
    let ok = q(&[("hub.mode", "subscribe"), ("hub.challenge", "1158201444"), ("hub.verify_token", "meatyhamhock")]);
    assert_eq!(challenge(&ok, "meatyhamhock"), Some("1158201444"));
    assert_eq!(challenge(&ok, "meatyhamhocks"), None);
    assert_eq!(challenge(&ok, ""), None);
    let mode = q(&[("hub.mode", "unsubscribe"), ("hub.challenge", "1"), ("hub.verify_token", "t")]);
    assert_eq!(challenge(&mode, "t"), None);
    assert_eq!(challenge(&q(&[("hub.mode", "subscribe"), ("hub.challenge", "1")]), "t"), None);
    assert_eq!(challenge(&q(&[("hub.mode", "subscribe"), ("hub.verify_token", "t")]), "t"), None);
    for bad in ["", "<script>", "a b", "ä", &"9".repeat(129)] {
        let hostile = q(&[("hub.mode", "subscribe"), ("hub.challenge", bad), ("hub.verify_token", "t")]);
        assert_eq!(challenge(&hostile, "t"), None, "{bad}");
    }
    let long = "9".repeat(128);
    assert_eq!(
        challenge(&q(&[("hub.mode", "subscribe"), ("hub.challenge", &long), ("hub.verify_token", "t")]), "t"),
        Some(long.as_str())
    );
}

#[test]
fn signature_is_lowercase_hex_hmac_of_the_raw_body() {
    let body = br#"{"object":"page","entry":[]}"#;
    let sig = format!("sha256={}", super::super::hmac_sha256_hex(b"app-secret", body));
    assert!(verify(Some(&sig), body, "app-secret"));
    assert!(!verify(Some(&sig), body, "other-secret"));
    assert!(!verify(Some(&sig), br#"{"object":"page","entry":[] }"#, "app-secret"));
    assert!(!verify(Some(&sig.to_uppercase().replace("SHA256=", "sha256=")), body, "app-secret"));
    assert!(!verify(Some(&sig[..sig.len() - 1]), body, "app-secret"));
    assert!(!verify(Some(&sig.replace("sha256=", "sha1=")), body, "app-secret"));
    assert!(!verify(Some("sha256="), body, "app-secret"));
    assert!(!verify(None, body, "app-secret"));
    assert!(!verify(Some(&sig), body, ""));
    // Escaped unicode as Meta sends it: the bytes are hashed, never a re-serialised JSON.
    let escaped = br#"{"t":"\u00e4\u00f6\u00e5"}"#;
    let s = format!("sha256={}", super::super::hmac_sha256_hex(b"k", escaped));
    assert!(verify(Some(&s), escaped, "k"));
    assert!(!verify(Some(&s), "{\"t\":\"äöå\"}".as_bytes(), "k"));
}

#[test]
fn verify_token_is_derived_from_the_secret() {
    let t = verify_token_of("s3cret");
    assert_eq!(t.len(), 32);
    assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(t, verify_token_of("s3cret"));
    assert_ne!(t, verify_token_of("s3cret2"));
    assert_eq!(t, super::super::hmac_sha256_hex(b"s3cret", b"meta-webhook-verify-token")[..32]);
}

#[test]
fn page_feed_comment_and_two_changes_split() {
    // Research 1.7 (a): the assembled feed comment, with a second change in the same entry.
    let body = json!({"object": "page", "entry": [{"id": "111", "time": 1703332800, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "222_333", "post_id": "111_222",
            "parent_id": "111_222", "created_time": 1703332800, "from": {"id": "9", "name": "N"}, "message": "hi"}},
        {"field": "mention", "value": {"item": "post", "verb": "add", "post_id": "444_555"}},
    ]}]});
    let out = parse(body.to_string().as_bytes(), 5);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|(o, _)| o == "page"));
    let (_, a) = &out[0];
    assert_eq!((a.account_id.as_str(), a.event_type.as_str(), a.occurred_at), ("111", "feed", 1703332800));
    assert_eq!(a.payload["comment_id"], "222_333");
    assert_eq!(a.dedup_key, "111:feed:add:222_333");
    assert_eq!(out[1].1.event_type, "mention");
    assert_eq!(out[1].1.dedup_key, "111:mention:add:444_555");
    assert_eq!(platforms_of("page"), ["facebook"]);
}

#[test]
fn an_edit_is_not_the_addition() {
    // The dashboard's feed test sample (a status post), then an edit of it: edits share the
    // post id, so each is keyed by its content.
    let add = json!({"item": "status", "post_id": "44444444_444444444", "verb": "add", "published": 1,
        "created_time": 1615407988, "message": "Example post content.", "from": {"name": "Test Page", "id": "1067280970047460"}});
    let mut edit = add.clone();
    edit["verb"] = json!("edited");
    let body = json!({"object": "page", "entry": [{"id": "0", "time": 1615407988, "changes": [
        {"field": "feed", "value": add}, {"field": "feed", "value": edit.clone()}]}]});
    let out = parse(body.to_string().as_bytes(), 5);
    assert_eq!(out[0].1.dedup_key, "0:feed:add:44444444_444444444");
    assert_eq!(out[1].1.dedup_key, dedup_key_of("0", "feed", &edit));
}

#[test]
fn instagram_samples_parse() {
    // Research 1.7 (c): the mention sample, verbatim (wrapped in [...] as the page shows it).
    let mention = r#"[{"entry":[{"changes":[{"field":"mentions","value":{"comment_id":"17894227972186120",
        "media_id":"17918195224117851"}}],"id":"17841405726653026","time":1520622968}],"object":"instagram"}]"#;
    let out = parse(mention.as_bytes(), 5);
    assert_eq!(out.len(), 1);
    let (object, e) = &out[0];
    assert_eq!(object, "instagram");
    assert_eq!(
        (e.account_id.as_str(), e.event_type.as_str(), e.occurred_at),
        ("17841405726653026", "mentions", 1520622968)
    );
    assert_eq!(e.dedup_key, "17841405726653026:mentions:17894227972186120");
    // Research 1.7 (b): Instagram Login's comment, field and value in the entry itself (the
    // page's missing comma fixed).
    let comment = json!([{"object": "instagram", "entry": [{"id": "17841400000000001", "time": 1700000000,
        "field": "comments", "value": {"id": "c1", "from": {"id": "u", "username": "n"}, "text": "t",
            "media": {"id": "m", "media_product_type": "FEED"}}}]}]);
    let out = parse(comment.to_string().as_bytes(), 5);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.event_type, "comments");
    assert_eq!(out[0].1.payload["text"], "t");
    assert_eq!(out[0].1.dedup_key, "17841400000000001:comments:c1");
    assert_eq!(platforms_of("instagram"), ["instagram", "instagram_facebook"]);
}

#[test]
fn messenger_message_in_milliseconds() {
    // Research 1.7 (d): the Messenger envelope with its text event.
    let body = json!({"object": "page", "entry": [{"id": "<PAGE_ID>", "time": 1458692752478_i64, "messaging": [{
        "sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "timestamp": 1458692752478_i64,
        "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "hello, world!"}}]}]});
    let out = parse(body.to_string().as_bytes(), 5);
    assert_eq!(out.len(), 1);
    let e = &out[0].1;
    assert_eq!((e.account_id.as_str(), e.event_type.as_str(), e.occurred_at), ("<PAGE_ID>", "messages", 1458692752));
    assert_eq!(e.payload["message"]["text"], "hello, world!");
    assert_eq!(e.dedup_key, "<PAGE_ID>:messages:mid:mid.1457764197618:41d102a3e1ae206a38");
    // Its deletion is another event.
    let mut gone = body.clone();
    gone["entry"][0]["messaging"][0]["message"]["is_deleted"] = json!(true);
    assert_ne!(parse(gone.to_string().as_bytes(), 5)[0].1.dedup_key, e.dedup_key);
}

#[test]
fn threads_envelope() {
    // Research 1.8: the mentions sample (shortened, commas fixed).
    let body = json!({"app_id": "123456", "topic": "interaction", "target_id": "78901", "time": 1723226877,
        "subscription_id": "234567", "has_uid_field": false, "values": {"value": {"id": "8901234",
            "media_product_type": "THREADS", "media_type": "TEXT_POST", "text": "Reply", "username": "test_username"},
        "field": "mentions"}});
    let out = parse(body.to_string().as_bytes(), 5);
    assert_eq!(out.len(), 1);
    let (object, e) = &out[0];
    assert_eq!(object, THREADS_OBJECT);
    assert_eq!((e.account_id.as_str(), e.event_type.as_str(), e.occurred_at), ("78901", "mentions", 1723226877));
    assert_eq!(e.dedup_key, "78901:mentions:8901234");
    // A reply routes by its root post's owner.
    let reply = json!({"target_id": "555", "time": 1, "values": {"field": "replies",
        "value": {"id": "r1", "root_post": {"id": "p", "owner_id": "78901"}}}});
    assert_eq!(parse(reply.to_string().as_bytes(), 5)[0].1.account_id, "78901");
    assert_eq!(platforms_of(THREADS_OBJECT), ["threads"]);
}

#[test]
fn hostile_shapes_yield_nothing_or_what_is_well_formed() {
    for body in [
        "",
        "null",
        "[]",
        "{}",
        "[1,2]",
        "{\"object\":\"page\"}",
        "{\"object\":\"page\",\"entry\":{}}",
        "{\"object\":1,\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"feed\"}]}]}",
        "{\"object\":\"page\",\"entry\":[1,null,{\"changes\":[{\"field\":\"feed\"}]},{\"id\":{}}]}",
        "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"value\":1},{\"field\":\"\"},{\"field\":7},3]}]}",
        "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":{}}]}",
        "{\"values\":{\"value\":{}}}",
        "{\"values\":{\"field\":\"mentions\"}}",
        "{\"values\":1}",
    ] {
        assert!(parse(body.as_bytes(), 5).is_empty(), "{body}");
    }
    let long_id = "1".repeat(257);
    let odd = json!({"object": "page", "entry": [
        {"id": long_id, "changes": [{"field": "feed", "value": {}}]},
        {"id": 42, "time": -3, "changes": [{"field": "feed"}]},
        {"id": "7", "time": 1e300, "messaging": [{"timestamp": "x"}, 5]},
        {"id": "8", "time": "soon", "changes": [{"field": "feed", "value": {"verb": 3, "comment_id": 4}}]},
    ]});
    let out = parse(odd.to_string().as_bytes(), 5);
    assert_eq!(out.len(), 4);
    assert_eq!((out[0].1.account_id.as_str(), out[0].1.occurred_at, &out[0].1.payload), ("42", 5, &Value::Null));
    assert_eq!(out[1].1.occurred_at, i64::MAX / 1000);
    assert_eq!(out[2].1.event_type, "messages");
    assert_eq!(out[3].1.occurred_at, 5);
    assert_eq!(platforms_of("user"), [] as [&str; 0]);
}

#[test]
fn page_fields_come_from_the_setting() {
    assert_eq!(page_fields(&[r#"{"facebook":["feed","mention"],"x":["a"]}"#]).as_deref(), Some("feed,mention"));
    assert_eq!(page_fields(&[r#"{"facebook":["*"]}"#]).as_deref(), Some("feed,mention"));
    assert_eq!(page_fields(&[r#"{"facebook":["feed","Bad Name","",3,"messages"]}"#]).as_deref(), Some("feed,messages"));
    // Several apps holding the Page: the union, each field once, whatever the others hold.
    let apps = [r#"{"facebook":["feed"]}"#, "[", r#"{"facebook":["mention","feed"]}"#, r#"{"x":["a"]}"#];
    assert_eq!(page_fields(&apps).as_deref(), Some("feed,mention"));
    let apps = [r#"{"facebook":["messages"]}"#, r#"{"facebook":["*"]}"#];
    assert_eq!(page_fields(&apps).as_deref(), Some("messages,feed,mention"));
    assert_eq!(page_fields(&[]), None);
    for none in [
        r#"{"facebook":[]}"#,
        r#"{"instagram":["comments"]}"#,
        r#"{"facebook":"feed"}"#,
        "null",
        "",
        "[",
        r#"{"facebook":["a,b"]}"#,
    ] {
        assert_eq!(page_fields(&[none]), None, "{none}");
        assert_eq!(page_fields(&[none, none]), None, "{none}");
    }
}

#[test]
fn page_subscription_calls() {
    let post = page_subscription_request("1001", "EAAPage", Some("feed,mention")).unwrap();
    assert_eq!((post.method, post.url.as_str()), ("POST", "https://graph.facebook.com/v25.0/1001/subscribed_apps"));
    assert_eq!(post.header("authorization"), Some("Bearer EAAPage"));
    assert_eq!(post.body.as_deref(), Some("subscribed_fields=feed%2Cmention"));
    let delete = page_subscription_request("1001", "EAAPage", None).unwrap();
    assert_eq!((delete.method, delete.body), ("DELETE", None));
    for bad in ["", "../me", "1001?x=1", "12a"] {
        assert!(page_subscription_request(bad, "t", None).is_none(), "{bad}");
    }
    // Both answers the docs show, and nothing else.
    assert!(page_subscription_ok(200, br#"{"success":true}"#));
    assert!(page_subscription_ok(200, br#"{ "success": "true" }"#));
    assert!(!page_subscription_ok(400, br#"{"success":"true"}"#));
    assert!(!page_subscription_ok(200, br#"{"success":false}"#));
    assert!(!page_subscription_ok(200, b"<html>"));
}
