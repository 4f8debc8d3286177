//! What a connect link offers: one platform (`platform`, or `platforms` listing one) or a
//! hosted chooser of several (`platforms`, or neither: every platform configured for the
//! app). The form checks of `POST /v1/connect-links` that concern them.

use crate::error::{ApiError, ApiResult};
use crate::input::CreateLink;
use crate::state::CallbackMode;

impl CreateLink {
    /// `platform` and `platforms` exclude each other; a list holds 1 to 50 distinct ids.
    pub(crate) fn check_platforms(&self) -> ApiResult<()> {
        let Some(list) = &self.platforms else { return Ok(()) };
        if self.platform.is_some() {
            return Err(ApiError::invalid("give platform or platforms, not both"));
        }
        if list.is_empty() || list.len() > 50 {
            return Err(ApiError::invalid("platforms must list 1 to 50 platform ids"));
        }
        if let Some((i, dup)) = list.iter().enumerate().find(|(i, p)| list[..*i].contains(p)) {
            return Err(ApiError::invalid(format!("platforms lists \"{dup}\" twice (entry {i})")));
        }
        Ok(())
    }

    /// Fields that name one platform's things, refused on a link offering several: which
    /// scopes, instance, profile or callback would they be?
    pub fn one_platform_fields(&self) -> Vec<&'static str> {
        let given = [
            ("scopes", self.scopes.is_some()),
            ("optional_scopes", self.optional_scopes.is_some()),
            ("instance", self.instance.is_some()),
            ("profile_id", self.profile_id.is_some()),
            ("callback", self.callback == Some(CallbackMode::App)),
        ];
        given.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::parse_json;

    #[test]
    fn link_platforms_exclude_platform_and_repeat_nothing() {
        let parse = |b: &str| parse_json::<CreateLink>(b.as_bytes()).map(|l| l.check());
        assert!(matches!(parse(r#"{"platforms":["x","bluesky"],"redirect_url":"https://a/cb"}"#), Ok(Ok(()))));
        assert!(matches!(parse(r#"{"redirect_url":"https://a/cb"}"#), Ok(Ok(()))), "neither: every platform");
        assert!(matches!(parse(r#"{"platform":"x","platforms":["x"],"redirect_url":"https://a/cb"}"#), Ok(Err(_))));
        assert!(matches!(parse(r#"{"platforms":[],"redirect_url":"https://a/cb"}"#), Ok(Err(_))));
        assert!(matches!(parse(r#"{"platforms":["x","x"],"redirect_url":"https://a/cb"}"#), Ok(Err(_))));
        let l: CreateLink =
            parse_json(br#"{"platforms":["x"],"redirect_url":"https://a/cb","scopes":["a"],"callback":"app"}"#)
                .unwrap();
        assert_eq!(l.one_platform_fields(), vec!["scopes", "callback"]);
    }
}
