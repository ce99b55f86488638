//! HTML message content, sanitized as ACS does before it is stored ("when
//! `html` is specified, Communication Services sanitizes the content to ensure
//! that it renders safely on client devices", ACS "Chat concepts"). The
//! allow-list is this project's choice (ACS does not publish its own):
//!
//! - tags kept: `a`, `b`, `blockquote`, `br`, `code`, `div`, `em`, `h1`..`h6`,
//!   `hr`, `i`, `img`, `li`, `ol`, `p`, `pre`, `s`, `span`, `strong`, `sub`,
//!   `sup`, `table`, `tbody`, `td`, `th`, `thead`, `tr`, `u`, `ul`;
//! - attributes kept: `href` and `title` on `a`; `src`, `alt`, `title`,
//!   `width` and `height` on `img`; `colspan` and `rowspan` on `td` and `th`;
//! - URLs kept: `http`, `https` and `mailto` ones, and relative ones;
//! - everything else is dropped: `script` and `style` with their content, every
//!   other tag (its text kept), event handlers (`onclick`, …), `style` and
//!   `class` attributes, `javascript:` and `data:` URLs, comments.
//!
//! Well-formed, safe markup comes out unchanged. The sanitizer is ammonia
//! (html5ever's parser), a pure function: the same input gives the same bytes.

use std::sync::OnceLock;

const TAGS: [&str; 33] = [
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut b = ammonia::Builder::empty();
        b.add_tags(TAGS)
            .add_tag_attributes("a", ["href", "title"])
            .add_tag_attributes("img", ["src", "alt", "title", "width", "height"])
            .add_tag_attributes("td", ["colspan", "rowspan"])
            .add_tag_attributes("th", ["colspan", "rowspan"])
            .add_url_schemes(["http", "https", "mailto"])
            .add_clean_content_tags(["script", "style"])
            .link_rel(None)
            .strip_comments(true);
        b
    })
}

/// `html` with everything unsafe removed (see the module's allow-list).
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_urls_are_dropped() {
        assert_eq!(sanitize("<p>hi</p><script>alert(1)</script>"), "<p>hi</p>");
        assert_eq!(sanitize(r#"<b onclick="steal()">x</b>"#), "<b>x</b>");
        assert_eq!(
            sanitize(r#"<a href="javascript:alert(1)">x</a>"#),
            "<a>x</a>"
        );
        assert_eq!(
            sanitize(r#"<img src="data:image/png;base64,AAAA" alt="p">"#),
            r#"<img alt="p">"#
        );
        assert_eq!(sanitize("<style>p{}</style><iframe>t</iframe>"), "t");
        assert_eq!(sanitize("a<!-- c -->b"), "ab");
    }

    #[test]
    fn safe_markup_comes_out_unchanged() {
        for safe in [
            "<p>Sorry about that! Could you send the <b>order number</b> on the label?</p>",
            r#"<a href="https://example.com/o?id=1&amp;x=2" title="t">link</a>"#,
            "<ul><li>one</li><li><em>two</em></li></ul>",
            "plain text &amp; more",
            r#"<table><tbody><tr><td colspan="2">x</td></tr></tbody></table>"#,
        ] {
            assert_eq!(sanitize(safe), safe);
        }
    }
}
