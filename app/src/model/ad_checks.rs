//! Pre-checks of a sponsored message, one pure function shared by the browser (as the
//! advertiser types) and the server (on submit): length, line breaks, ALL-CAPS words, emoji,
//! the destination URL, and links in the text.

use serde::{Deserialize, Serialize};

/// Most characters (Unicode scalar values, spaces included) in an ad's text.
pub const AD_TEXT_MAX: usize = 160;
/// Most characters in the button label.
pub const BUTTON_LABEL_MAX: usize = 24;
/// The counter turns amber when this many characters or fewer are left.
pub const AD_TEXT_AMBER_LEFT: usize = 20;
/// Most emoji in an ad's text.
pub const MAX_EMOJI: usize = 3;

/// Link shorteners: they hide the destination, so they are refused.
const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "bl.ink",
    "s.id",
    "lnkd.in",
    "trib.al",
    "soo.gd",
    "clck.ru",
    "qps.ru",
    "t.ly",
    "shorte.st",
    "adf.ly",
    "tr.im",
];

/// The parts of an ad the checks read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdCopy {
    pub text: String,
    pub button_label: String,
    pub destination_url: String,
}

/// One problem found, for one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `text`, `button_label` or `destination_url`.
    pub field: &'static str,
    pub message: String,
}

/// Characters left in the text (negative when over).
pub fn chars_left(text: &str) -> i64 {
    AD_TEXT_MAX as i64 - text.chars().count() as i64
}

/// Every problem with `copy`, in field order; empty when it may be submitted.
pub fn precheck(copy: &AdCopy) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut add = |field: &'static str, message: String| found.push(Finding { field, message });
    let text = copy.text.as_str();
    let count = text.chars().count();
    if text.trim().is_empty() {
        add("text", "Write the message.".into());
    }
    if count > AD_TEXT_MAX {
        add(
            "text",
            format!("{count} characters: the limit is {AD_TEXT_MAX}."),
        );
    }
    if text.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        add(
            "text",
            "Line breaks are not allowed: the message is one paragraph.".into(),
        );
    }
    let links = links_in(text);
    let shouting: Vec<&str> = words(text, &links)
        .into_iter()
        .filter(|w| is_all_caps(w))
        .collect();
    if !shouting.is_empty() {
        add(
            "text",
            format!("Avoid ALL-CAPS words: {}.", shouting.join(", ")),
        );
    }
    let emoji = count_emoji(text);
    if emoji > MAX_EMOJI {
        add("text", format!("{emoji} emoji: at most {MAX_EMOJI}."));
    }

    let label = copy.button_label.trim();
    if label.is_empty() {
        add("button_label", "Write the button label.".into());
    } else if label.chars().count() > BUTTON_LABEL_MAX {
        add(
            "button_label",
            format!("At most {BUTTON_LABEL_MAX} characters."),
        );
    }

    let destination = match parse_link(copy.destination_url.trim()) {
        Ok(link) => Some(link),
        Err(problem) => {
            add("destination_url", problem);
            None
        }
    };
    if links.len() > 1 {
        add(
            "text",
            format!("At most one link in the text; it has {}.", links.join(", ")),
        );
    }
    for raw in links.iter().take(1) {
        match parse_link(&with_scheme(raw)) {
            Err(problem) => add("text", format!("The link in the text ({raw}): {problem}")),
            Ok(link) => {
                if destination.as_ref().is_some_and(|d| *d != link) {
                    add(
                        "text",
                        format!(
                            "The link in the text ({raw}) must go to the same place as the button."
                        ),
                    );
                }
            }
        }
    }
    found
}

/// The words of `text`, its `links` left out.
fn words<'a>(text: &'a str, links: &[&str]) -> Vec<&'a str> {
    let links: Vec<std::ops::Range<usize>> = links
        .iter()
        .map(|link| offset_in(text, link)..offset_in(text, link) + link.len())
        .collect();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| !links.iter().any(|l| l.contains(&offset_in(text, w))))
        .collect()
}

/// Four or more letters, all upper-case (short acronyms like "NFT" or "USA" are fine).
fn is_all_caps(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 4 && word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
}

/// Emoji as a reader sees them: a flag (two regional indicators), a skin-tone variant or a
/// zero-width-joined sequence counts once.
fn count_emoji(text: &str) -> usize {
    let mut count = 0;
    let mut flags: usize = 0;
    let mut joined = false;
    for c in text.chars() {
        match u32::from(c) {
            0x200D => joined = true,
            0x1F1E6..=0x1F1FF => flags += 1,
            0x1F3FB..=0x1F3FF | 0xFE0F => {}
            _ if is_emoji(c) => {
                if !joined {
                    count += 1;
                }
                joined = false;
            }
            _ => joined = false,
        }
    }
    count + flags.div_ceil(2)
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x3030 | 0x303D)
}

/// Punctuation that may close a link without being part of it.
const CLOSING: &[char] = &[
    '.', ',', '!', '?', ')', ']', '}', '>', ';', ':', '"', '\'', '»', '”', '’', '…',
];

/// Top-level domains a reader's app turns into links when written bare (`shop.example.com`),
/// one per line after `#` comments. Not listed, `Node.js` or `3.14` stay words.
const TOP_LEVEL_DOMAINS: &str = include_str!("top_level_domains.txt");

/// Whether `label` (lower-case) is a top-level domain.
fn is_top_level_domain(label: &str) -> bool {
    label.starts_with("xn--")
        || TOP_LEVEL_DOMAINS
            .lines()
            .any(|line| !line.starts_with('#') && line == label)
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// Every link in `text`, in order, as a reader's app would make them: each scheme
/// (`https://…`, also inside a word as in `deals:https://…`) starts a link that runs to the
/// next whitespace or scheme; elsewhere, pieces between characters no bare address holds
/// (`(`, `:`, `—`, `„`, a zero-width space…) are links when they start with `t.me/` or
/// `www.`, or are a domain under a real top-level domain (`shop.example.com/deal`,
/// `bit.ly/x`) or an IPv4 address. Closing punctuation is not part of a link.
fn links_in(text: &str) -> Vec<&str> {
    let mut links = Vec::new();
    for word in text.split_whitespace() {
        // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `word`.
        let lower = word.to_ascii_lowercase();
        let mut schemes = Vec::new();
        let mut from = 0;
        while let Some(found) = lower[from..].find("://") {
            let at = from + found;
            let start = lower[..at]
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_alphabetic())
                .last()
                .map_or(at, |(i, _)| i);
            schemes.push(start.max(from));
            from = at + 3;
        }
        let bare_end = schemes.first().copied().unwrap_or(word.len());
        let address_char = |c: char| c.is_alphanumeric() || "-._~/?#=&%+@".contains(c);
        links.extend(
            word[..bare_end]
                .split(|c: char| !address_char(c))
                .map(|piece| piece.trim_end_matches(CLOSING))
                .filter(|piece| is_bare_link(piece)),
        );
        for (i, &start) in schemes.iter().enumerate() {
            let end = schemes.get(i + 1).copied().unwrap_or(word.len());
            links.push(word[start..end].trim_end_matches(CLOSING));
        }
    }
    links
}

/// Whether `piece` (no scheme, no surrounding punctuation) is an address a reader's app links.
fn is_bare_link(piece: &str) -> bool {
    let lower = piece.to_lowercase();
    if ["t.me/", "telegram.me/", "www."]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    let host = lower.split(['/', '?', '#']).next().unwrap_or_default();
    let labels: Vec<&str> = host.split('.').collect();
    let well_formed = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    // Four numbers that fit in a byte: `1.800.555.0199` is a phone number, not an address.
    let ip = labels.len() == 4 && labels.iter().all(|l| l.parse::<u8>().is_ok());
    well_formed && (ip || labels.last().is_some_and(|tld| is_top_level_domain(tld)))
}

/// A link as written in the text, with `https://` put in front of a bare domain so it can be
/// compared with the destination (`t.me/…` and links with a scheme stay as they are).
fn with_scheme(link: &str) -> String {
    let lower = link.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("t.me/") {
        link.to_owned()
    } else {
        format!("https://{link}")
    }
}

/// A destination reduced to what decides "the same place": host and path, lower-case host,
/// no trailing slash.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    host: String,
    path: String,
}

/// Parses an https or t.me link, refusing other schemes, credentials, IP hosts and shorteners.
fn parse_link(raw: &str) -> Result<Link, String> {
    if raw.is_empty() {
        return Err("Enter the destination link.".into());
    }
    let lower = raw.to_lowercase();
    let rest = if let Some(rest) = raw.get(8..).filter(|_| lower.starts_with("https://")) {
        rest
    } else if lower.starts_with("t.me/") {
        raw
    } else if lower.starts_with("http://") {
        return Err("Use a secure https:// link.".into());
    } else {
        return Err("Use an https:// or t.me/ link.".into());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("Links with a user name or password are not allowed.".into());
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host)
        .trim_end_matches('.')
        .to_lowercase();
    if host.is_empty() || !host.contains('.') && !host.starts_with('[') {
        return Err("That is not a complete link.".into());
    }
    if host.starts_with('[')
        || host
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("Links to IP addresses are not allowed: use a domain name.".into());
    }
    if SHORTENERS
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")))
    {
        return Err(format!(
            "Link shorteners ({host}) hide the destination: use the full link."
        ));
    }
    // `www.example.com` and `example.com` are the same place to a reader.
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    let path = tail
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    Ok(Link { host, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(text: &str, url: &str) -> AdCopy {
        AdCopy {
            text: text.into(),
            button_label: "Open".into(),
            destination_url: url.into(),
        }
    }

    fn fields(copy: &AdCopy) -> Vec<&'static str> {
        precheck(copy).into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn good_ads_pass() {
        for (text, url) in [
            (
                "Fresh beans roasted every Monday. Try our NFT-free coffee club 🙂",
                "https://acme.coffee/club",
            ),
            (
                "Learn Rust in 30 days with daily lessons: https://learn.example.com/rust",
                "https://learn.example.com/rust/",
            ),
            (
                "Join the channel for daily market notes",
                "t.me/market_notes",
            ),
            ("Ünïcödé wörds and ёлка are fine", "https://example.org"),
            ("Three: 🇩🇪 👍🏽 👨‍👩‍👧", "https://example.org"),
            // Not links: no known top-level domain, a number, an abbreviation.
            (
                "Built with Node.js, version 3.14, e.g. for teams",
                "https://example.org",
            ),
            // A bare domain or a www. link to the button's destination is the same place.
            (
                "Join at acme.coffee/club today.",
                "https://acme.coffee/club",
            ),
            ("Join at (www.acme.coffee/club)", "https://acme.coffee/club"),
            ("Тур: пример.рф/тур", "https://пример.рф/тур"),
            // Phone and version numbers are not addresses.
            ("Call 1.800.555.0199 or see v2.0.1.4", "https://example.org"),
        ] {
            assert!(
                precheck(&copy(text, url)).is_empty(),
                "{text} → {:?}",
                precheck(&copy(text, url))
            );
        }
        let exactly = "a".repeat(AD_TEXT_MAX);
        assert!(precheck(&copy(&exactly, "https://a.example")).is_empty());
        assert_eq!(chars_left(&"é".repeat(150)), 10, "characters, not bytes");
    }

    #[test]
    fn bad_texts_are_found() {
        let url = "https://example.com";
        for (text, why) in [
            (&*"x".repeat(AD_TEXT_MAX + 1), "161 characters"),
            ("Two lines\nare not allowed", "Line breaks"),
            ("Windows line\r\nbreak", "Line breaks"),
            ("BUY NOW, this is AMAZING", "ALL-CAPS words: AMAZING"),
            ("Fun 🎉🎉🎉🎉", "4 emoji"),
            ("Flags 🇩🇪🇫🇷 and 👍🏽 and 👨‍👩‍👧 and 🎉", "5 emoji"),
            (
                "Go https://example.com and https://example.com/x",
                "At most one link",
            ),
            ("See https://other.example", "same place as the button"),
            ("See https://bit.ly/abc", "shorteners"),
            // Links hidden by punctuation, or written without a scheme, are links too.
            ("Visit (https://other.example)", "same place as the button"),
            ("Deals:https://other.example/x", "same place as the button"),
            ("Deals at other.com/promo", "same place as the button"),
            ("Short and sweet: bit.ly/abc", "shorteners"),
            (
                "Book at (acme.coffee/tour), deals via shop.example.com",
                "At most one link",
            ),
            ("Open 93.184.216.34/login now", "IP addresses"),
            ("Go to www.other.org", "same place as the button"),
            ("See example.com and other.com", "At most one link"),
            // A second address glued to the first, or to a word, is found too.
            ("other.com/x;https://example.com", "At most one link"),
            ("Deals:other.com/promo", "same place as the button"),
            ("Deals\u{200B}other.com/promo", "same place as the button"),
            ("Text—„other.com“", "same place as the button"),
            ("SALE:https://example.com", "ALL-CAPS words: SALE"),
            ("   ", "Write the message"),
        ] {
            let found = precheck(&copy(text, url));
            assert!(
                found
                    .iter()
                    .any(|f| f.field == "text" && f.message.contains(why)),
                "{text:?}: {found:?}"
            );
        }
    }

    #[test]
    fn bad_destinations_are_found() {
        for (url, why) in [
            ("", "Enter the destination"),
            ("http://example.com", "https://"),
            ("ftp://example.com", "https:// or t.me/"),
            ("https://93.184.216.34/login", "IP addresses"),
            ("https://[2001:db8::1]/", "IP addresses"),
            ("https://bit.ly/3xyz", "shorteners"),
            ("https://www.tinyurl.com/x", "shorteners"),
            ("https://user:pw@example.com", "user name or password"),
            ("https://localhost", "not a complete link"),
        ] {
            let found = precheck(&copy("Hello there", url));
            assert!(
                found
                    .iter()
                    .any(|f| f.field == "destination_url" && f.message.contains(why)),
                "{url:?}: {found:?}"
            );
        }
    }

    #[test]
    fn button_labels_are_checked() {
        let mut ad = copy("Hello there", "https://example.com");
        ad.button_label = "x".repeat(BUTTON_LABEL_MAX + 1);
        assert_eq!(fields(&ad), ["button_label"]);
        ad.button_label = " ".into();
        assert_eq!(fields(&ad), ["button_label"]);
    }

    #[test]
    fn the_same_place_ignores_case_trailing_slash_and_query() {
        let ad = copy(
            "Read more: HTTPS://Example.com/Guide/?utm=1",
            "https://example.com/Guide",
        );
        assert!(precheck(&ad).is_empty(), "{:?}", precheck(&ad));
    }
}
