-- The language a connect link's hosted pages are served in (issue 25): a BCP 47 tag the app
-- gave on POST /v1/connect-links (`locale`), checked well-formed there. NULL: the browser's
-- Accept-Language decides. A tag of a language without a catalog falls back the same way.
ALTER TABLE connect_links ADD COLUMN locale TEXT;
