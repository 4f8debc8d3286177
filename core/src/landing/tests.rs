use super::*;
use crate::accounts::{AccountType, Parent};
use crate::platforms::sandbox::ACCESS_TTL_SECS;
use crate::refresh_policy::next_refresh_at;

const NOW: i64 = 1_000_000;

fn sandbox() -> Platform {
    crate::platforms::sandbox::platform("https://w.example")
}

fn link(finish_owner: Option<&str>) -> LinkRow {
    LinkRow {
        id: "cl_1".into(),
        app_id: "app_1".into(),
        platform: "sandbox".into(),
        external_user_id: finish_owner.map(str::to_string),
        metadata: Some("{\"team\":\"a\"}".into()),
        status: "pending".into(),
        ..LinkRow::default()
    }
}

fn account(id: &str, own_token: Option<&str>) -> Account {
    Account {
        platform_user_id: id.into(),
        account_type: if own_token.is_some() { AccountType::Page } else { AccountType::User },
        username: Some(format!("{id}_name")),
        display_name: None,
        avatar_url: None,
        parent: None,
        own_token: own_token.map(str::to_string),
    }
}

fn profile(id: &str, account: &str, owner: Option<&str>, status: &str, grant: &str) -> ProfileRow {
    ProfileRow {
        id: id.into(),
        app_id: "app_1".into(),
        platform: "sandbox".into(),
        account_type: "user".into(),
        grant_id: grant.into(),
        parent: None,
        platform_user_id: account.into(),
        username: None,
        display_name: None,
        avatar_url: None,
        external_user_id: owner.map(str::to_string),
        metadata: Some("{\"old\":true}".into()),
        status: status.into(),
        disconnect_reason: None,
        scopes: "[]".into(),
        declined_scopes: None,
        access_token_expires_at: None,
        last_refreshed_at: Some(500),
        created_at: 400,
        updated_at: 450,
        claim_link_id: None,
        last_platform_event_at: Some(420),
        instance: None,
    }
}

fn choice(issued_at: i64, expires_in: Option<i64>, refresh_expires_in: Option<i64>) -> Choice {
    Choice {
        access_token: crate::secrets::AccessToken::new("at"),
        refresh_token: None,
        expires_in,
        refresh_expires_in,
        scopes: vec![],
        declined: vec![],
        login: account("login", None),
        listed: vec![],
        listed_complete: false,
        issued_at,
        accounts: vec![],
        credential_ref: None,
    }
}

/// Runs the plan with ids `prf_new1`, `prf_new2`, ... and checks at `NOW + 77`.
fn run<'c>(l: &Landing<'_>, accounts: &[&'c Account]) -> Plan<'c> {
    let mut n = 0;
    let ids = move || {
        n += 1;
        Ok(format!("prf_new{n}"))
    };
    let mut draws = Draws { profile_id: ids, first_check_at: || NOW + 77 };
    plan(l, accounts, &mut draws).unwrap()
}

fn landing<'a>(link: &'a LinkRow, p: &'a Platform, existing: &'a [ProfileRow], finish: Finish) -> Landing<'a> {
    Landing {
        link,
        platform: p,
        existing,
        owner: link.external_user_id.as_deref(),
        login_grants: &["grn_login"],
        grant_id: "grn_login",
        scopes: "[\"basic\"]",
        declined: None,
        access_expires_at: Some(NOW + 3600),
        finish,
        now: NOW,
    }
}

#[test]
fn connect_errors_come_from_either_side_with_question_mark() {
    fn failing() -> ConnectResult<()> {
        Err(CallbackFailure::NoAccounts)?
    }
    fn erroring() -> ConnectResult<()> {
        Err(ApiError::internal())?
    }
    assert!(matches!(failing(), Err(ConnectError::Failed(CallbackFailure::NoAccounts))));
    assert!(matches!(erroring(), Err(ConnectError::Api(e)) if e.status() == 500));
}

#[test]
fn finish_round_trips_its_stored_form_and_unknown_waits_for_a_claim() {
    assert_eq!(Finish::from_stored(Finish::Now.as_str()), Finish::Now);
    assert_eq!(Finish::from_stored(Finish::AwaitClaim.as_str()), Finish::AwaitClaim);
    assert_eq!(Finish::from_stored("garbage"), Finish::AwaitClaim);
}

#[test]
fn token_times_count_from_the_token_answer_not_the_write() {
    let p = sandbox();
    let t = grant_times(&p, RefreshMode::Proactive, &choice(900, Some(3600), Some(86_400)), true, NOW);
    assert_eq!(t.issued_at, 900);
    assert_eq!(t.access_expires_at, Some(900 + 3600));
    assert_eq!(t.refresh_expires_at, Some(900 + 86_400));
    assert_eq!(t.next_action_at, next_refresh_at(p.refresh, 900, Some(4500)));
}

#[test]
fn token_times_of_a_choice_without_issue_time_count_from_now() {
    let t = grant_times(&sandbox(), RefreshMode::Proactive, &choice(0, Some(60), None), false, NOW);
    assert_eq!(t.issued_at, NOW);
    assert_eq!(t.access_expires_at, Some(NOW + 60));
    assert_eq!(t.refresh_expires_at, None);
}

#[test]
fn token_times_fall_back_to_the_platforms_default_lifetime() {
    let t = grant_times(&sandbox(), RefreshMode::Proactive, &choice(900, None, None), false, NOW);
    assert_eq!(t.access_expires_at, Some(900 + ACCESS_TTL_SECS));
    let mut never = sandbox();
    never.default_access_ttl_secs = None;
    let t = grant_times(&never, RefreshMode::Proactive, &choice(900, None, None), false, NOW);
    assert_eq!((t.access_expires_at, t.next_action_at), (None, None), "a token that never expires");
}

#[test]
fn token_times_follow_the_apps_refresh_mode() {
    let p = sandbox();
    let c = choice(900, Some(3600), None);
    for (mode, held) in [(RefreshMode::OnDemand, true), (RefreshMode::OnDemand, false), (RefreshMode::Proactive, true)]
    {
        let times = TokenTimes {
            issued_at: 900,
            access_expires_at: Some(4500),
            refresh_expires_at: None,
            has_refresh_token: held,
        };
        let want = next_action_at(mode, p.refresh, p.refresh_idle_secs, &times);
        assert_eq!(grant_times(&p, mode, &c, held, NOW).next_action_at, want, "{mode:?} {held}");
    }
}

#[test]
fn a_new_account_becomes_a_new_profile_told_connected() {
    let (l, p) = (link(Some("u1")), sandbox());
    let a = account("acc_1", None);
    let plan = run(&landing(&l, &p, &[], Finish::Now), &[&a]);
    assert_eq!(plan.profiles.len(), 1);
    let got = &plan.profiles[0];
    assert!(got.new);
    assert_eq!(got.write.id, "prf_new1");
    assert_eq!(got.after.id, "prf_new1");
    assert_eq!((got.write.status, got.write.claim_link_id.as_deref()), ("active", None));
    assert_eq!(got.write.external_user_id.as_deref(), Some("u1"));
    assert_eq!(got.write.metadata, l.metadata);
    assert_eq!((got.write.old_owner.as_deref(), got.write.old_status.as_deref()), (None, None));
    assert_eq!(got.event, types::CONNECTED);
    assert_eq!(got.after.grant_id, "grn_login");
    assert_eq!(got.after.scopes, "[\"basic\"]");
    assert_eq!((got.after.created_at, got.after.updated_at), (NOW, NOW));
    assert!(plan.moved_from.is_empty());
}

#[test]
fn a_new_profile_awaiting_its_claim_is_pending_for_the_link() {
    let (l, p) = (link(Some("u1")), sandbox());
    let a = account("acc_1", None);
    let plan = run(&landing(&l, &p, &[], Finish::AwaitClaim), &[&a]);
    let got = &plan.profiles[0];
    assert_eq!((got.write.status, got.write.claim_link_id.as_deref()), ("pending", Some("cl_1")));
    assert_eq!(got.after.status, crate::model::ProfileStatus::Pending);
    assert_eq!(got.after.claim_link_id, None, "never shown");
    assert_eq!(got.event, types::CONNECTED);
}

#[test]
fn an_existing_profile_of_the_same_owner_is_relinked_in_place() {
    let (l, p) = (link(Some("u1")), sandbox());
    let existing = [profile("prf_old", "acc_1", Some("u1"), "active", "grn_other_login")];
    let a = account("acc_1", None);
    let mut land = landing(&l, &p, &existing, Finish::AwaitClaim);
    // The profile is active under another login's grant: it stays there ...
    assert!(run(&land, &[&a]).profiles.is_empty(), "connected elsewhere: left out");
    // ... unless it is under this login's grant, or has ended.
    land.login_grants = &["grn_other_login"];
    let plan = run(&land, &[&a]);
    let got = &plan.profiles[0];
    assert!(!got.new);
    assert_eq!(got.write.id, "prf_old");
    assert_eq!(got.write.status, "active", "an active profile needs no claim");
    assert_eq!(got.write.claim_link_id, None);
    assert_eq!(got.event, types::RECONNECTED);
    assert_eq!((got.write.old_owner.as_deref(), got.write.old_status.as_deref()), (Some("u1"), Some("active")));
    assert_eq!(got.after.metadata, l.metadata, "the link's metadata wins");
    assert_eq!((got.after.created_at, got.after.last_refreshed_at), (400, Some(500)));
    assert_eq!(got.after.last_platform_event_at, Some(420));
    assert_eq!(plan.moved_from, vec!["grn_other_login".to_string()]);
}

#[test]
fn the_same_login_through_other_credentials_moves_its_profile_to_the_new_grant() {
    let (l, p) = (link(Some("u1")), sandbox());
    // Connected before through the deployment's client (grn_deployment); now through the
    // app's own client, a grant of its own (grn_own) for the same login.
    let existing = [profile("prf_old", "acc_1", Some("u1"), "active", "grn_deployment")];
    let a = account("acc_1", None);
    let mut land = landing(&l, &p, &existing, Finish::Now);
    land.grant_id = "grn_own";
    land.login_grants = &["grn_own"];
    assert!(run(&land, &[&a]).profiles.is_empty(), "a grant of another login: left out");
    land.login_grants = &["grn_deployment", "grn_own"];
    let plan = run(&land, &[&a]);
    assert_eq!(plan.profiles[0].write.id, "prf_old");
    assert_eq!(plan.profiles[0].after.grant_id, "grn_own");
    assert_eq!(plan.moved_from, vec!["grn_deployment".to_string()]);
}

#[test]
fn a_relinked_profile_keeps_its_metadata_when_the_link_has_none() {
    let (mut l, p) = (link(Some("u1")), sandbox());
    l.metadata = None;
    let existing = [profile("prf_old", "acc_1", Some("u1"), "disconnected", "grn_login")];
    let a = account("acc_1", None);
    let plan = run(&landing(&l, &p, &existing, Finish::Now), &[&a]);
    let got = &plan.profiles[0];
    assert_eq!(got.write.metadata.as_deref(), Some("{\"old\":true}"));
    assert_eq!(got.event, types::RECONNECTED);
    assert!(plan.moved_from.is_empty(), "same grant");
}

#[test]
fn a_never_claimed_profile_of_another_link_is_taken_over_by_the_owner() {
    let (l, p) = (link(Some("u1")), sandbox());
    let existing = [profile("prf_stray", "acc_1", Some("stranger"), "pending", "grn_a")];
    let a = account("acc_1", None);
    let plan = run(&landing(&l, &p, &existing, Finish::AwaitClaim), &[&a]);
    let got = &plan.profiles[0];
    assert_eq!(got.write.id, "prf_stray");
    assert_eq!(got.write.external_user_id.as_deref(), Some("u1"), "the taker's owner");
    assert_eq!(got.write.metadata, l.metadata, "the taker's metadata only");
    assert_eq!(got.write.old_owner.as_deref(), Some("stranger"));
    assert_eq!((got.write.status, got.write.claim_link_id.as_deref()), ("pending", Some("cl_1")));
    assert_eq!(got.event, types::CONNECTED, "new to whoever claims it");
    assert_eq!(plan.moved_from, vec!["grn_a".to_string()]);
}

#[test]
fn another_owners_account_is_left_out_and_the_rest_keep_their_order() {
    let (l, p) = (link(Some("u1")), sandbox());
    let existing = [
        profile("prf_v", "acc_v", Some("victim"), "disconnected", "grn_a"),
        profile("prf_b", "acc_b", Some("u1"), "disconnected", "grn_b"),
        profile("prf_c", "acc_c", Some("u1"), "disconnected", "grn_b"),
    ];
    let (c, v, n, b) = (account("acc_c", None), account("acc_v", None), account("acc_n", None), account("acc_b", None));
    let plan = run(&landing(&l, &p, &existing, Finish::Now), &[&c, &v, &n, &b]);
    let ids: Vec<&str> = plan.profiles.iter().map(|p| p.write.id.as_str()).collect();
    assert_eq!(ids, ["prf_c", "prf_new1", "prf_b"]);
    assert_eq!(plan.moved_from, vec!["grn_b".to_string()], "each grant once");
}

#[test]
fn a_reconnect_link_updates_its_profile_whoever_owns_it() {
    let (mut l, p) = (link(Some("someone")), sandbox());
    l.reconnect_profile_id = Some("prf_t".into());
    let existing = [profile("prf_t", "acc_1", Some("u9"), "disconnected", "grn_login")];
    let a = account("acc_1", None);
    // The link's user ("someone") is not the profile's owner ("u9"): a reconnect link lands
    // on its profile anyway, and the owner stays.
    let land = landing(&l, &p, &existing, Finish::Now);
    let got = &run(&land, &[&a]).profiles[0];
    assert_eq!(got.write.id, "prf_t");
    assert_eq!(got.write.external_user_id.as_deref(), Some("u9"), "its owner never changes");
    // Another account of the same login is placed as on any link: a new profile.
    let other = account("acc_2", None);
    let ids: Vec<String> = run(&land, &[&a, &other]).profiles.iter().map(|p| p.write.id.clone()).collect();
    assert_eq!(ids, ["prf_t", "prf_new1"]);
    // Active under another login: that login came back wrong.
    let existing = [profile("prf_t", "acc_1", Some("u9"), "active", "grn_other")];
    let land = Landing { existing: &existing, ..land };
    assert_eq!(placement(existing.first(), &l, Some("u9"), &["grn_login"]), Placement::WrongAccount);
    assert!(run(&land, &[&a]).profiles.is_empty());
}

#[test]
fn tokens_sit_on_the_grant_unless_the_account_has_its_own() {
    let (l, p) = (link(None), sandbox());
    let (login, page) = (account("login", None), account("page_1", Some("page-token")));
    let plan = run(&landing(&l, &p, &[], Finish::Now), &[&login, &page]);
    let (a, b) = (&plan.profiles[0], &plan.profiles[1]);
    // The login acts with the grant's token: it expires with it and is refreshed, not checked.
    assert_eq!((a.write.access_token_expires_at, a.write.next_check_at), (Some(NOW + 3600), None));
    assert_eq!(a.after.access_token_expires_at, Some(NOW + 3600));
    assert!(a.account.own_token.is_none());
    // A Page's own token does not expire with the login's: its liveness is checked instead.
    assert_eq!((b.write.access_token_expires_at, b.write.next_check_at), (None, Some(NOW + 77)));
    assert_eq!(b.after.access_token_expires_at, None);
    assert_eq!(b.account.own_token.as_deref(), Some("page-token"));
    assert_eq!(b.write.account_type, "page");
    // Sealing is the commit's: the plan holds no token.
    assert_eq!((b.write.access_token_enc.as_deref(), b.write.token_kid.as_deref()), (None, None));
}

#[test]
fn a_login_token_that_never_expires_is_checked_for_every_profile() {
    let (l, p) = (link(None), sandbox());
    let a = account("login", None);
    let mut land = landing(&l, &p, &[], Finish::Now);
    land.access_expires_at = None;
    let got = &run(&land, &[&a]).profiles[0];
    assert_eq!((got.write.access_token_expires_at, got.write.next_check_at), (None, Some(NOW + 77)));
}

#[test]
fn a_parent_and_the_instance_are_carried_to_the_row_and_the_view() {
    let (l, mut p) = (link(None), sandbox());
    p.instance = Some("pds.example".into());
    let mut a = account("ig_1", None);
    a.parent = Some(Parent { id: "page_1".into(), name: Some("Page".into()), kind: AccountType::Page });
    let got = &run(&landing(&l, &p, &[], Finish::Now), &[&a]).profiles[0];
    let parent = got.write.parent.as_deref().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(parent).unwrap()["id"], "page_1");
    assert_eq!(got.after.parent.as_deref(), Some(parent));
    assert_eq!(got.after.instance.as_deref(), Some("pds.example"));
}

#[test]
fn the_profile_write_serializes_as_the_statements_read_it() {
    let (l, p) = (link(Some("u1")), sandbox());
    let a = account("acc_1", None);
    let got = &run(&landing(&l, &p, &[], Finish::AwaitClaim), &[&a]).profiles[0];
    let json = serde_json::to_value(&got.write).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "account_type",
        "platform_user_id",
        "parent",
        "username",
        "display_name",
        "avatar_url",
        "external_user_id",
        "metadata",
        "status",
        "claim_link_id",
        "access_token_enc",
        "token_kid",
        "access_token_expires_at",
        "next_check_at",
        "old_owner",
        "old_status",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    assert_eq!(json["status"], "pending");
}

#[test]
fn a_failed_id_draw_fails_the_plan() {
    let (l, p) = (link(None), sandbox());
    let a = account("acc_1", None);
    let mut draws = Draws { profile_id: || Err(ApiError::internal()), first_check_at: || 0 };
    assert!(plan(&landing(&l, &p, &[], Finish::Now), &[&a], &mut draws).is_err());
}

#[test]
fn only_accounts_missing_from_the_listing_are_removed() {
    let under = vec![
        profile("prf_1", "acc_1", None, "active", "grn_login"),
        profile("prf_2", "acc_2", None, "active", "grn_login"),
    ];
    let gone = removed(under, &["acc_1".to_string()]);
    assert_eq!(gone.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["prf_2"]);
}
