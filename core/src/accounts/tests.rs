//! Host tests of the account listings: requests built, answers read, links refused.

use super::*;
use crate::platforms::{facebook, instagram_facebook, sandbox, Catalog};

const TOKEN: &str = "EAAlong_SECRET";

fn get_platform(id: &str) -> Platform {
    Catalog::builtins().into_iter().find(|p| p.id == id).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new(TOKEN)
}

fn no_token_in<T: std::fmt::Debug>(v: &T) {
    let shown = format!("{v:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn each_platform_names_its_source() {
    assert_eq!(get_platform("facebook").accounts, AccountSource::FacebookPages);
    assert_eq!(get_platform("instagram_facebook").accounts, AccountSource::InstagramViaPages);
    assert_eq!(get_platform("linkedin").accounts, AccountSource::LinkedInOrganizations);
    assert_eq!(sandbox::platform("https://w").accounts, AccountSource::SandboxPages);
    for id in ["instagram", "threads", "x", "youtube", "tiktok", "pinterest", "reddit"] {
        let p = get_platform(id);
        assert_eq!(p.accounts, AccountSource::Login, "{id}");
        assert!(first_request(&p, &token()).is_none(), "{id}");
    }
}

#[test]
fn facebook_first_request_lists_pages_with_their_tokens() {
    let req = first_request(&get_platform("facebook"), &token()).unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v25.0/me/accounts?fields=id,name,access_token,picture,tasks&limit=100"
    );
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
    assert!(!req.url.contains(TOKEN), "the token goes in the header only");
    assert!(req.body.is_none());
    no_token_in(&req);
}

#[test]
fn instagram_facebook_first_request_asks_for_each_pages_instagram_account() {
    let req = first_request(&get_platform("instagram_facebook"), &token()).unwrap();
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v25.0/me/accounts?fields=instagram_business_account{id,username,name,profile_picture_url},access_token,name&limit=100"
    );
    let u = Url::parse(&req.url).unwrap();
    let fields: String = u.query_pairs().find(|(k, _)| k == "fields").unwrap().1.into_owned();
    assert_eq!(fields, instagram_facebook::PAGE_FIELDS);
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
    no_token_in(&req);
}

#[test]
fn sandbox_first_request_is_served_by_the_worker() {
    let req = first_request(&sandbox::platform("http://127.0.0.1:8787/"), &token()).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:8787/sandbox/accounts");
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
}

#[test]
fn linkedin_first_request_is_the_acl_finder_with_version_headers() {
    let req = first_request(&get_platform("linkedin"), &token()).unwrap();
    assert_eq!(
        req.url,
        "https://api.linkedin.com/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&start=0&count=100"
    );
    let second = linkedin_acls_request(&get_platform("linkedin"), &token(), 100).unwrap();
    assert!(second.url.ends_with("&start=100&count=100"));
    assert_eq!(req.header("linkedin-version"), Some(linkedin::API_VERSION));
    assert_eq!(req.header("X-Restli-Protocol-Version"), Some("2.0.0"));
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
    let v = linkedin::API_VERSION;
    assert!(v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()) && v >= "202601", "YYYYMM: {v}");
    no_token_in(&req);
}

#[test]
fn next_request_follows_graph_links_on_the_same_origin_only() {
    let p = get_platform("facebook");
    let next = "https://graph.facebook.com/v25.0/10/accounts?fields=id%2Cname&limit=100&after=QVFI";
    let req = next_request(&p, next, &token()).unwrap();
    assert_eq!(req.url, next);
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
    for elsewhere in [
        "https://evil.example/v25.0/me/accounts?after=x",
        "http://graph.facebook.com/v25.0/me/accounts?after=x",
        "https://graph.facebook.com:8443/v25.0/me/accounts?after=x",
        "https://graph.facebook.com.evil.example/v25.0/me/accounts",
        "https://user:pw@graph.facebook.com/v25.0/me/accounts",
        "https://evil.example@graph.facebook.com/x",
        "//graph.facebook.com/v25.0/me/accounts",
        "/v25.0/me/accounts?after=x",
        "javascript:alert(1)",
        "",
        "not a url",
    ] {
        assert!(next_request(&p, elsewhere, &token()).is_none(), "{elsewhere}");
    }
    let long = format!("https://graph.facebook.com/x?after={}", "a".repeat(9000));
    assert!(next_request(&p, &long, &token()).is_none());
}

#[test]
fn next_request_drops_an_access_token_from_the_link() {
    let p = get_platform("instagram_facebook");
    let next = "https://graph.facebook.com/v25.0/10/accounts?access_token=OLD_SECRET&limit=100&after=QVFI";
    let req = next_request(&p, next, &token()).unwrap();
    assert!(!req.url.contains("access_token") && !req.url.contains("OLD_SECRET"), "{}", req.url);
    let q: Vec<(String, String)> = Url::parse(&req.url).unwrap().query_pairs().into_owned().collect();
    assert_eq!(q, vec![("limit".into(), "100".into()), ("after".into(), "QVFI".into())]);
}

#[test]
fn next_request_only_for_graph_shaped_sources() {
    let next = "https://api.linkedin.com/rest/organizationAcls?q=roleAssignee&start=10";
    assert!(next_request(&get_platform("linkedin"), next, &token()).is_none());
    assert!(next_request(&get_platform("x"), "https://api.x.com/2/users/me", &token()).is_none());
    let sb = sandbox::platform("http://127.0.0.1:8787");
    assert!(next_request(&sb, "http://127.0.0.1:8787/sandbox/accounts?after=2", &token()).is_some());
    assert!(next_request(&sb, "http://127.0.0.1:9999/sandbox/accounts?after=2", &token()).is_none());
}

const PAGES: &str = r#"{
  "data": [
    {"id": "101", "name": "Bakery", "access_token": "PAGE101_SECRET", "tasks": ["MANAGE","CREATE_CONTENT"],
     "picture": {"data": {"url": "https://cdn.test/101.jpg", "is_silhouette": false}}},
    {"id": "102", "name": "No token", "tasks": ["ANALYZE"]},
    {"id": 103, "name": "Numeric", "access_token": "PAGE103_SECRET"},
    {"name": "No id", "access_token": "X_SECRET"},
    {"id": "", "access_token": "X_SECRET"},
    {"id": "104", "access_token": ""},
    "not an object",
    {"id": "105", "name": 7, "access_token": "PAGE105_SECRET", "picture": "flat"}
  ],
  "paging": {"cursors": {"before": "MTAx", "after": "MTA1"},
             "next": "https://graph.facebook.com/v25.0/10/accounts?limit=100&after=MTA1"}
}"#;

#[test]
fn facebook_pages_map_to_page_accounts_and_pages_without_a_token_are_skipped() {
    let page = parse_page(&get_platform("facebook"), 200, PAGES.as_bytes()).unwrap();
    let ids: Vec<&str> = page.accounts.iter().map(|a| a.platform_user_id.as_str()).collect();
    assert_eq!(ids, vec!["101", "103", "105"]);
    let a = &page.accounts[0];
    assert_eq!(a.account_type, AccountType::Page);
    assert_eq!(a.display_name.as_deref(), Some("Bakery"));
    assert_eq!(a.avatar_url.as_deref(), Some("https://cdn.test/101.jpg"));
    assert_eq!(a.own_token.as_deref(), Some("PAGE101_SECRET"));
    assert!(a.username.is_none() && a.parent.is_none());
    assert_eq!(page.accounts[2].display_name, None, "a non-string name is no name");
    assert_eq!(page.accounts[2].avatar_url, None);
    assert_eq!(page.next.as_deref(), Some("https://graph.facebook.com/v25.0/10/accounts?limit=100&after=MTA1"));
    no_token_in(&page);
}

#[test]
fn sandbox_pages_read_like_facebook_pages() {
    let sb = sandbox::platform("http://127.0.0.1:8787");
    let body = r#"{"data":[{"id":"sbp1","name":"Sandbox Page 1","access_token":"sbpt_SECRET","picture":{"data":{"url":"http://127.0.0.1:8787/sandbox/p1.svg"}},"tasks":["CREATE_CONTENT"]}],"paging":{}}"#;
    let page = parse_page(&sb, 200, body.as_bytes()).unwrap();
    assert_eq!(page.accounts.len(), 1);
    assert_eq!(page.accounts[0].account_type, AccountType::Page);
    assert_eq!(page.accounts[0].own_token.as_deref(), Some("sbpt_SECRET"));
    assert_eq!(page.next, None);
}

#[test]
fn a_next_link_elsewhere_is_not_kept() {
    let body = r#"{"data":[],"paging":{"next":"https://evil.example/v25.0/me/accounts?after=x"}}"#;
    let page = parse_page(&get_platform("facebook"), 200, body.as_bytes()).unwrap();
    assert_eq!(page, ListPage { accounts: vec![], next: None });
    let body = r#"{"data":[],"paging":{"next":42}}"#;
    assert_eq!(parse_page(&get_platform("facebook"), 200, body.as_bytes()).unwrap().next, None);
}

#[test]
fn an_empty_list_is_no_accounts_not_an_error() {
    let page = parse_page(&get_platform("facebook"), 200, br#"{"data":[]}"#).unwrap();
    assert!(page.accounts.is_empty() && page.next.is_none());
}

const IG_PAGES: &str = r#"{
  "data": [
    {"id": "201", "name": "Shop Page", "access_token": "PAGE201_SECRET",
     "instagram_business_account": {"id": "17841400000000001", "username": "shop", "name": "The Shop",
                                    "profile_picture_url": "https://cdn.ig.test/shop.jpg"}},
    {"id": "202", "name": "Page without Instagram", "access_token": "PAGE202_SECRET"},
    {"id": "203", "name": "Handle only", "access_token": "PAGE203_SECRET",
     "instagram_business_account": {"id": "17841400000000003", "username": "handle"}},
    {"id": "204", "name": "No token", "instagram_business_account": {"id": "17841400000000004"}},
    {"id": "205", "access_token": "PAGE205_SECRET", "instagram_business_account": {"username": "noid"}},
    {"id": "206", "access_token": "PAGE206_SECRET", "instagram_business_account": null}
  ]
}"#;

#[test]
fn instagram_accounts_come_from_pages_with_the_page_as_parent_and_its_token() {
    let page = parse_page(&get_platform("instagram_facebook"), 200, IG_PAGES.as_bytes()).unwrap();
    let ids: Vec<&str> = page.accounts.iter().map(|a| a.platform_user_id.as_str()).collect();
    assert_eq!(ids, vec!["17841400000000001", "17841400000000003"]);
    let a = &page.accounts[0];
    assert_eq!(a.account_type, AccountType::InstagramBusiness);
    assert_eq!(a.username.as_deref(), Some("shop"));
    assert_eq!(a.display_name.as_deref(), Some("The Shop"));
    assert_eq!(a.avatar_url.as_deref(), Some("https://cdn.ig.test/shop.jpg"));
    assert_eq!(a.own_token.as_deref(), Some("PAGE201_SECRET"));
    assert_eq!(a.parent, Some(Parent { id: "201".into(), name: Some("Shop Page".into()), kind: AccountType::Page }));
    let b = &page.accounts[1];
    assert_eq!(b.display_name.as_deref(), Some("handle"), "the username stands in for a missing name");
    assert_eq!(b.avatar_url, None);
    no_token_in(&page);
}

#[test]
fn error_answers_give_a_short_reason_without_the_body() {
    let p = get_platform("facebook");
    let graph =
        br#"{"error":{"message":"Error validating access token: EAAlong_SECRET","type":"OAuthException","code":190}}"#;
    for status in [400, 401] {
        let e = parse_page(&p, status, graph).unwrap_err();
        assert_eq!(e, ListError(format!("status {status}, error code 190")));
    }
    assert_eq!(parse_page(&p, 500, b"<html>oops EAAlong_SECRET</html>").unwrap_err(), ListError("status 500".into()));
    let li = br#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#;
    assert_eq!(parse_linkedin_acls(401, li).unwrap_err(), ListError("status 401, REVOKED_ACCESS_TOKEN".into()));
    let odd = br#"{"code":"lower case or <script> EAAlong_SECRET"}"#;
    assert_eq!(parse_linkedin_acls(403, odd).unwrap_err(), ListError("status 403".into()));
}

#[test]
fn malformed_answers_are_errors_never_panics() {
    let fb = get_platform("facebook");
    let ig = get_platform("instagram_facebook");
    let bodies: [&[u8]; 10] = [
        b"",
        b"not json",
        b"null",
        b"[]",
        b"42",
        br#"{"data":{}}"#,
        br#"{"data":"x"}"#,
        br#"{"elements":null,"results":[]}"#,
        b"\xff\xfe",
        br#"{"data":[{"id":{"nested":1}},{"id":null},[],1.5]}"#,
    ];
    for body in bodies {
        for p in [&fb, &ig] {
            match parse_page(p, 200, body) {
                Ok(page) => assert!(page.accounts.is_empty(), "{:?}", String::from_utf8_lossy(body)),
                Err(ListError(why)) => assert!(why.starts_with("malformed answer"), "{why}"),
            }
        }
        assert!(parse_linkedin_acls(200, body).is_err());
        assert!(parse_linkedin_organizations(200, body, &["urn:li:organization:1".into()]).is_err());
    }
    assert!(parse_page(&get_platform("linkedin"), 200, br#"{"data":[]}"#).is_err());
    assert!(parse_page(&get_platform("x"), 200, br#"{"data":[]}"#).is_err());
}

#[test]
fn deeply_nested_json_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_page(&get_platform("facebook"), 200, deep.as_bytes()).is_err());
    assert!(parse_linkedin_acls(200, deep.as_bytes()).is_err());
}

#[test]
fn long_texts_are_cut_and_overlong_tokens_refused() {
    let body = format!(
        r#"{{"data":[{{"id":"1","name":"{}","access_token":"T"}},{{"id":"2","access_token":"{}"}}]}}"#,
        "n".repeat(2000),
        "t".repeat(9000)
    );
    let page = parse_page(&get_platform("facebook"), 200, body.as_bytes()).unwrap();
    assert_eq!(page.accounts.len(), 1);
    assert_eq!(page.accounts[0].display_name.as_ref().map(|n| n.chars().count()), Some(crate::caps::MAX_NAME_CHARS));
}

#[test]
fn over_long_pictures_handles_and_ids_are_dropped_or_refused() {
    let body = serde_json::json!({"data": [
        {"id": "1", "name": "P", "access_token": "T", "picture": {"data": {"url": format!("https://cdn/{}", "u".repeat(3000))}}},
        {"id": "9".repeat(65), "name": "Too long an id", "access_token": "T"},
    ]})
    .to_string();
    let page = parse_page(&get_platform("facebook"), 200, body.as_bytes()).unwrap();
    assert_eq!(page.accounts.len(), 1, "a Page whose id is over the cap is not an account");
    assert_eq!(page.accounts[0].avatar_url, None, "a cut URL would point elsewhere");
    let ig = serde_json::json!({"data": [{"id": "5", "name": "Page", "access_token": "T",
        "instagram_business_account": {"id": "17", "username": "u".repeat(300)}}]})
    .to_string();
    let page = parse_page(&get_platform("instagram_facebook"), 200, ig.as_bytes()).unwrap();
    assert_eq!(page.accounts[0].username, None, "a cut handle would name someone else");
}

#[test]
fn graph_ids_with_control_characters_are_no_ids() {
    // The same rule as `caps::id`: an id with a control character names no account.
    for bad in ["12\n34", "\u{0}1", "1\u{7f}", "1\u{85}", "\t"] {
        let body = serde_json::json!({"data": [
            {"id": bad, "name": "P", "access_token": "T", "instagram_business_account": {"id": "17", "username": "v"}},
            {"id": "5", "name": "Page", "access_token": "T", "instagram_business_account": {"id": bad, "username": "u"}},
            {"id": "6", "name": "Ok", "access_token": "T"},
        ]})
        .to_string();
        let page = parse_page(&get_platform("facebook"), 200, body.as_bytes()).unwrap();
        let ids: Vec<_> = page.accounts.iter().map(|a| a.platform_user_id.as_str()).collect();
        assert_eq!(ids, ["5", "6"], "{bad:?}");
        let page = parse_page(&get_platform("instagram_facebook"), 200, body.as_bytes()).unwrap();
        assert!(page.accounts.is_empty(), "{bad:?}: no Instagram account under an id like that");
    }
}

const ACLS: &str = r#"{
  "paging": {"start": 0, "count": 10, "links": []},
  "elements": [
    {"role": "ADMINISTRATOR", "state": "APPROVED", "roleAssignee": "urn:li:person:abc", "organization": "urn:li:organization:111"},
    {"role": "ANALYST", "state": "APPROVED", "roleAssignee": "urn:li:person:abc", "organization": "urn:li:organization:222"},
    {"role": "ADMINISTRATOR", "state": "REQUESTED", "roleAssignee": "urn:li:person:abc", "organization": "urn:li:organization:333"},
    {"role": "CONTENT_ADMINISTRATOR", "state": "APPROVED", "organization": "urn:li:organization:444"},
    {"role": "ADMINISTRATOR", "state": "APPROVED", "organizationalTarget": "urn:li:organization:555"},
    {"role": "ADMINISTRATOR", "state": "APPROVED", "organization": "urn:li:organization:111"},
    {"role": "ADMINISTRATOR", "state": "APPROVED", "organization": "urn:li:organizationBrand:666"},
    {"role": "ADMINISTRATOR", "state": "APPROVED", "organization": "urn:li:organization:12a"},
    {"role": "ADMINISTRATOR", "state": "APPROVED", "organization": "urn:li:organization:"},
    {"role": "ADMINISTRATOR", "state": "APPROVED"},
    {"role": "administrator", "state": "approved", "organization": "urn:li:organization:777"}
  ]
}"#;

#[test]
fn linkedin_acls_keep_only_approved_administrators() {
    let urns = parse_linkedin_acls(200, ACLS.as_bytes()).unwrap();
    assert_eq!(urns, vec!["urn:li:organization:111".to_string(), "urn:li:organization:555".to_string()]);
    assert_eq!(parse_linkedin_acls(200, br#"{"elements":[]}"#).unwrap(), Vec::<String>::new());
}

#[test]
fn linkedin_acls_are_capped() {
    let elements: Vec<String> = (1..=150)
        .map(|n| format!(r#"{{"role":"ADMINISTRATOR","state":"APPROVED","organization":"urn:li:organization:{n}"}}"#))
        .collect();
    let body = format!(r#"{{"elements":[{}]}}"#, elements.join(","));
    assert_eq!(parse_linkedin_acls(200, body.as_bytes()).unwrap().len(), MAX_ORGANIZATIONS);
}

#[test]
fn linkedin_organizations_lookup_is_one_batch_get() {
    let urns = vec!["urn:li:organization:111".to_string(), "urn:li:organization:555".to_string()];
    let req = linkedin_organizations_request(&token(), &urns).unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "https://api.linkedin.com/rest/organizations?ids=List(111,555)");
    assert_eq!(req.header("linkedin-version"), Some(linkedin::API_VERSION));
    assert_eq!(req.header("x-restli-protocol-version"), Some("2.0.0"));
    assert_eq!(req.header("authorization"), Some("Bearer EAAlong_SECRET"));
    no_token_in(&req);
    assert!(linkedin_organizations_request(&token(), &[]).is_none());
    assert!(linkedin_organizations_request(&token(), &["urn:li:person:1".into(), "x)&y=(".into()]).is_none());
}

#[test]
fn linkedin_organizations_become_organization_accounts() {
    let urns = vec!["urn:li:organization:111".to_string(), "urn:li:organization:555".to_string()];
    let body = br#"{
      "results": {
        "111": {"id": 111, "localizedName": "Acme Corp", "vanityName": "acme", "name": {"localized": {"en_US": "Acme Corp"}}},
        "999": {"id": 999, "localizedName": "Not asked"}
      },
      "statuses": {"111": 200, "555": 403},
      "errors": {"555": {"status": 403, "message": "Not enough permissions"}}
    }"#;
    let accounts = parse_linkedin_organizations(200, body, &urns).unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(
        accounts[0],
        Account {
            platform_user_id: "urn:li:organization:111".into(),
            account_type: AccountType::Organization,
            username: Some("acme".into()),
            display_name: Some("Acme Corp".into()),
            avatar_url: None,
            parent: None,
            own_token: None,
        }
    );
    assert_eq!(accounts[1].platform_user_id, "urn:li:organization:555");
    assert_eq!(accounts[1].display_name, None, "an organization the lookup did not answer keeps its URN");
    assert_eq!(
        parse_linkedin_organizations(403, br#"{"status":403,"code":"ACCESS_DENIED"}"#, &urns).unwrap_err(),
        ListError("status 403, ACCESS_DENIED".into())
    );
}

#[test]
fn organization_scopes_decide_the_linkedin_listing() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(!wants_organizations(&s(&["openid", "profile", "w_member_social"])));
    assert!(!wants_organizations(&[]));
    for scope in ["rw_organization_admin", "w_organization_social", "r_organization_admin", "r_organization_social"] {
        assert!(wants_organizations(&s(&["openid", scope])), "{scope}");
    }
    assert!(!wants_organizations(&s(&["rw_organization_admin_x", "RW_ORGANIZATION_ADMIN"])));
}

#[test]
fn account_debug_hides_the_page_token() {
    let page = parse_page(&get_platform("facebook"), 200, PAGES.as_bytes()).unwrap();
    let shown = format!("{:?}", page.accounts[0]);
    assert!(shown.contains("[redacted]") && !shown.contains("PAGE101"), "{shown}");
    let json = serde_json::to_string(&page.accounts[0]).unwrap();
    assert!(json.contains("PAGE101_SECRET"), "serialized for storage, where it is encrypted by the caller");
}

#[test]
fn facebook_listing_url_uses_the_graph_version_constant() {
    assert_eq!(
        facebook::me_accounts_url("id"),
        format!("https://graph.facebook.com/{}/me/accounts?fields=id&limit=100", crate::platforms::GRAPH_API_VERSION)
    );
}

#[test]
fn linkedin_acl_pages_continue_while_the_total_or_a_full_page_says_so() {
    let page = |n: usize, count: usize, total: Option<usize>| {
        let elements: Vec<serde_json::Value> =
            (0..n).map(|i| serde_json::json!({"organization": format!("urn:li:organization:{i}")})).collect();
        let mut v = serde_json::json!({"elements": elements, "paging": {"start": 0, "count": count}});
        if let Some(t) = total {
            v["paging"]["total"] = t.into();
        }
        serde_json::to_vec(&v).unwrap()
    };
    assert_eq!(linkedin_acls_next(&page(100, 100, None), 0), AclMore::Next(100));
    assert_eq!(linkedin_acls_next(&page(12, 100, None), 0), AclMore::Done);
    assert_eq!(linkedin_acls_next(&page(10, 10, None), 0), AclMore::Next(10), "a server paging by 10, no total");
    assert_eq!(linkedin_acls_next(&page(5, 10, None), 10), AclMore::Done);
    assert_eq!(linkedin_acls_next(&page(10, 10, Some(25)), 0), AclMore::Next(10), "paging smaller than asked");
    assert_eq!(linkedin_acls_next(&page(5, 10, Some(25)), 20), AclMore::Done);
    assert_eq!(linkedin_acls_next(&page(0, 10, Some(25)), 10), AclMore::Cut, "an empty page short of the total");
    assert_eq!(linkedin_acls_next(&page(0, 10, None), 10), AclMore::Done);
    assert_eq!(linkedin_acls_next(b"not json", 0), AclMore::Cut);
}
