use super::*;

// The YouTube guide's notification, verbatim but for the ids
// (https://developers.google.com/youtube/v3/guides/push_notifications, 2023-10-26).
const UPLOAD: &str = r#"<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"
         xmlns="http://www.w3.org/2005/Atom">
  <link rel="hub" href="https://pubsubhubbub.appspot.com"/>
  <link rel="self" href="https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCchan"/>
  <title>YouTube video feed</title>
  <updated>2015-04-01T19:05:24.552394234+00:00</updated>
  <entry>
    <id>yt:video:VIDEO_ID</id>
    <yt:videoId>VIDEO_ID</yt:videoId>
    <yt:channelId>UCchan</yt:channelId>
    <title>Tom &amp; Jerry &lt;live&gt; &#x263A;</title>
    <link rel="alternate" href="http://www.youtube.com/watch?v=VIDEO_ID"/>
    <author>
     <name>Channel title</name>
     <uri>http://www.youtube.com/channel/UCchan</uri>
    </author>
    <published>2015-03-06T21:40:57+00:00</published>
    <updated>2015-03-09T19:05:24.552394234+00:00</updated>
  </entry>
</feed>"#;

// A tombstone as delivered (RFC 6721 namespace; captures in public repos, 2018).
const DELETED: &str = r#"<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns="http://www.w3.org/2005/Atom">
  <at:deleted-entry ref="yt:video:xScSTh-gHpQ" when="2018-07-26T17:43:36+00:00">
    <link href="https://www.youtube.com/watch?v=xScSTh-gHpQ"/>
    <at:by>
      <name>TelePatriot-Dev</name>
      <uri>https://www.youtube.com/channel/UCchan</uri>
    </at:by>
  </at:deleted-entry>
</feed>"#;

#[test]
fn reads_an_upload() {
    let events = parse_feed(UPLOAD.as_bytes(), "UCchan", 7);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.account_id.as_str(), e.event_type.as_str()), ("UCchan", "video.published"));
    assert_eq!(e.occurred_at, 1425927924);
    assert_eq!(e.payload["video_id"], "VIDEO_ID");
    assert_eq!(e.payload["title"], "Tom & Jerry <live> \u{263A}");
    assert_eq!(e.payload["link"], "http://www.youtube.com/watch?v=VIDEO_ID");
    assert_eq!(e.payload["published"], "2015-03-06T21:40:57+00:00");
    assert_eq!(e.dedup_key, "VIDEO_ID@2015-03-09T19:05:24.552394234+00:00");
    // Another channel's subscription gets nothing from it.
    assert!(parse_feed(UPLOAD.as_bytes(), "UCother", 7).is_empty());
}

#[test]
fn reads_a_deletion() {
    let events = parse_feed(DELETED.as_bytes(), "UCchan", 7);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.event_type, "video.deleted");
    assert_eq!(e.payload["video_id"], "xScSTh-gHpQ");
    assert_eq!(e.payload["deleted_at"], "2018-07-26T17:43:36+00:00");
    assert_eq!(e.occurred_at, 1532627016);
    let selfclosed = r#"<feed xmlns:at="http://purl.org/atompub/tombstones/1.0"><at:deleted-entry ref="yt:video:abc" when="2018-07-26T17:43:36Z"/></feed>"#;
    assert_eq!(parse_feed(selfclosed.as_bytes(), "UCchan", 7)[0].payload["video_id"], "abc");
}

#[test]
fn hostile_xml_neither_panics_nor_expands_entities() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">
      <!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <feed><entry><yt:videoId>v</yt:videoId><title>&lol2;&xxe;</title><updated>x</updated></entry></feed>"#;
    // A DTD makes the feed unreadable (a notification has none): nothing is expanded.
    assert!(parse_feed(laughs.as_bytes(), "UCchan", 7).is_empty());
    // Without one, an entity it would declare is dropped.
    let undeclared = "<feed><entry><yt:videoId>v</yt:videoId><title>&lol2;&xxe;</title><updated>x</updated></entry></feed>";
    let events = parse_feed(undeclared.as_bytes(), "UCchan", 7);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["title"], "");
    assert_eq!(events[0].occurred_at, 7, "an unreadable time is the time received");
    let broken = [
        "",
        "<",
        "<feed><entry>",
        "<feed><entry><yt:videoId>v</yt:channelId></entry></feed>",
        "\u{0}\u{1}<<>>",
        "<feed><entry><yt:videoId>v&#0;&#xFFFFFFFF;&</yt:videoId></entry></feed>",
        "<a b=\"&#xD800;\"/>",
        // maybe_xml 0.11 read these past their end (a panic) or for exponential time.
        "<!-",
        "<feed><!-",
        "<feed><entry><yt:videoId>v</yt:videoId></entry><!-",
    ];
    for b in broken {
        let _ = parse_feed(b.as_bytes(), "UCchan", 7);
    }
    assert!(parse_feed(&[0xff, 0xfe, b'<'], "UCchan", 7).is_empty());
    // Many entries: only the first few are read; long text is cut.
    let many = format!("<feed>{}</feed>", "<entry><yt:videoId>v</yt:videoId></entry>".repeat(500));
    assert_eq!(parse_feed(many.as_bytes(), "UCchan", 7).len(), MAX_ENTRIES);
    let long = format!("<feed><entry><yt:videoId>v</yt:videoId><title>{}</title></entry></feed>", "é".repeat(5000));
    // Cut at MAX_TEXT bytes on a character boundary ("é" is two bytes), not dropped.
    assert_eq!(parse_feed(long.as_bytes(), "UCchan", 7)[0].payload["title"], "é".repeat(MAX_TEXT / 2));
    let pieces = format!("<feed><entry><yt:videoId>v</yt:videoId><title>{}</title></entry></feed>", "a&amp;".repeat(600));
    assert_eq!(parse_feed(pieces.as_bytes(), "UCchan", 7)[0].payload["title"].as_str().map(str::len), Some(MAX_TEXT));
    let nested = format!("<feed>{}{}</feed>", "<entry>".repeat(10_000), "</entry>".repeat(10_000));
    let _ = parse_feed(nested.as_bytes(), "UCchan", 7);
}

#[test]
fn signature_is_hmac_sha1_of_the_body_under_the_secret() {
    // RFC 2202 test case 2 for HMAC-SHA1.
    assert_eq!(hmac_sha1_hex(b"Jefe", b"what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    let body = UPLOAD.as_bytes();
    let good = format!("sha1={}", hmac_sha1_hex(b"s3cret", body));
    assert!(verify_signature(&good, body, "s3cret"));
    assert!(verify_signature(&good.to_uppercase().replace("SHA1=", "sha1="), body, "s3cret"));
    assert!(verify_signature(
        &format!("sha256={}", crate::platform_events::hmac_sha256_hex(b"s3cret", body)),
        body,
        "s3cret"
    ));
    assert!(!verify_signature(&good, body, "other"));
    assert!(!verify_signature(&good, b"<feed/>", "s3cret"));
    for bad in ["", "sha1", "sha1=", "md5=00", &good.replace("sha1=", "sha512=")] {
        assert!(!verify_signature(bad, body, "s3cret"), "{bad}");
    }
}

#[test]
fn subscribe_request_and_topic() {
    assert_eq!(topic_of("UCchan"), "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCchan");
    assert!(plausible_channel("UC_x5XG1OV2P6uZZ5FSM9Ttw"));
    assert!(!plausible_channel("UC&x=1") && !plausible_channel(""));
    let form = hub_request("subscribe", "https://w.test/platform-webhooks/youtube/wss_1", &topic_of("UCchan"), "sec");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("hub.mode"), Some("subscribe"));
    assert_eq!(get("hub.topic"), Some("https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCchan"));
    assert_eq!(get("hub.lease_seconds"), Some("864000"));
    assert_eq!(get("hub.secret"), Some("sec"));
}

#[test]
fn reads_rfc3339_times() {
    assert_eq!(epoch_of("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(epoch_of("2000-02-29T01:00:00+01:00"), Some(951_782_400));
    assert_eq!(epoch_of("2026-11-23T14:05:09.123-00:30"), Some(1_795_442_709 + 1800));
    for bad in ["", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T14:05:09", "x026-11-23T14:05:09Z"] {
        assert_eq!(epoch_of(bad), None, "{bad}");
    }
}

#[test]
fn references_are_expanded_in_attributes_cdata_is_kept_and_a_cut_feed_gives_nothing() {
    // References in attribute values are expanded as in text; a CDATA section is text as
    // written; an entity no DTD of ours declares is dropped; a repeated attribute: the first.
    let feed = r#"<feed><entry><yt:videoId>v&#49;</yt:videoId><title><![CDATA[a &amp; <b>]]> &bogus;x</title>
        <link rel="alternate" rel="self" href="https://www.youtube.com/watch?v=v1&amp;t=2"/></entry></feed>"#;
    let events = parse_feed(feed.as_bytes(), "UCchan", 7);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["video_id"], "v1");
    assert_eq!(events[0].payload["title"], "a &amp; <b> x");
    assert_eq!(events[0].payload["link"], "https://www.youtube.com/watch?v=v1&t=2");
    // A feed cut inside a tag is not read at all (no half-read entries).
    let cut = r#"<feed><entry><yt:videoId>v1</yt:videoId></entry><entry><yt:videoId>v2</yt:videoId></entr"#;
    assert!(parse_feed(cut.as_bytes(), "UCchan", 7).is_empty());
    // Text whose references do not read is dropped whole, not passed on raw.
    let bad = r#"<feed><entry><yt:videoId>v1</yt:videoId><title>Tom & Jerry</title></entry></feed>"#;
    assert_eq!(parse_feed(bad.as_bytes(), "UCchan", 7)[0].payload["title"], "");
}

#[test]
fn a_feed_with_a_dtd_or_a_comment_is_not_read() {
    // A content model nested 40 deep: maybe_xml 0.11 parses such a DTD in time exponential
    // in the nesting (seconds at 22 levels); it must be refused before the tokenizer.
    let deep = format!(
        "<!DOCTYPE feed [<!ELEMENT feed {}a{}>]><feed><entry><yt:videoId>v</yt:videoId></entry></feed>",
        "(".repeat(40),
        ")".repeat(40)
    );
    let started = std::time::Instant::now();
    assert!(parse_feed(deep.as_bytes(), "UCchan", 7).is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "refused at once, not parsed");
    let comment = "<feed><!-- hi --><entry><yt:videoId>v</yt:videoId></entry></feed>";
    assert!(parse_feed(comment.as_bytes(), "UCchan", 7).is_empty());
    // A CDATA section is text, and reads.
    let cdata = "<feed><entry><yt:videoId><![CDATA[v]]></yt:videoId></entry></feed>";
    assert_eq!(parse_feed(cdata.as_bytes(), "UCchan", 7)[0].payload["video_id"], "v");
}
