//! Text for Slack, escaped exactly once by construction.
//!
//! A [`Msg`] is built from spans that say where their text came from: literals the bot wrote
//! (`&'static str`), untrusted text (escaped when rendered), code, and mentions built from validated
//! ids. [`Mrkdwn`] can only be produced by rendering a `Msg`, so no string a person or AWS wrote
//! can reach Slack unescaped: `<!channel>` typed in a reason arrives as `&lt;!channel&gt;`.
//! The demo renders the same `Msg` as plain text.

use crate::domain::ids::{SlackGroupId, SlackUserId};

/// Slack mrkdwn, safe to send. Only [`Msg::to_mrkdwn`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mrkdwn(String);

impl Mrkdwn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Mrkdwn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    /// Written by the bot: may hold mrkdwn (`*bold*`, `:emoji:`).
    Lit(&'static str),
    /// Not written by the bot: escaped.
    Text(String),
    /// Untrusted text in a code span: escaped, and backticks cannot close the span.
    Code(String),
    /// Bold untrusted text.
    Bold(String),
    User(SlackUserId),
    Group(SlackGroupId),
}

/// A message under construction. Cheap to build; render once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Msg(Vec<Span>);

/// Escape `&`, `<` and `>` the way Slack expects (exactly once).
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn code_body(s: &str) -> String {
    // A backtick would end the code span early; Slack has no escape for it inside one.
    s.replace('`', "'")
}

impl Msg {
    pub fn new() -> Self {
        Msg(Vec::new())
    }
    pub fn lit(mut self, s: &'static str) -> Self {
        self.0.push(Span::Lit(s));
        self
    }
    /// Untrusted (or computed) text: numbers, times, reasons, AWS messages.
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Text(s.into()));
        self
    }
    pub fn code(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Code(s.into()));
        self
    }
    pub fn bold(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Bold(s.into()));
        self
    }
    pub fn user(mut self, u: &SlackUserId) -> Self {
        self.0.push(Span::User(u.clone()));
        self
    }
    pub fn group(mut self, g: &SlackGroupId) -> Self {
        self.0.push(Span::Group(g.clone()));
        self
    }
    /// Users joined with `, `.
    pub fn users(mut self, users: &[SlackUserId]) -> Self {
        for (i, u) in users.iter().enumerate() {
            if i > 0 {
                self = self.lit(", ");
            }
            self = self.user(u);
        }
        self
    }
    pub fn append(mut self, other: Msg) -> Self {
        self.0.extend(other.0);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_mrkdwn(&self) -> Mrkdwn {
        let mut out = String::new();
        for span in &self.0 {
            match span {
                Span::Lit(s) => out.push_str(s),
                Span::Text(s) => escape(s, &mut out),
                Span::Code(s) => {
                    out.push('`');
                    escape(&code_body(s), &mut out);
                    out.push('`');
                }
                Span::Bold(s) => {
                    out.push('*');
                    escape(&s.replace('*', "∗"), &mut out);
                    out.push('*');
                }
                Span::User(u) => {
                    out.push_str("<@");
                    out.push_str(u.as_str());
                    out.push('>');
                }
                Span::Group(g) => {
                    out.push_str("<!subteam^");
                    out.push_str(g.as_str());
                    out.push('>');
                }
            }
        }
        Mrkdwn(out)
    }

    /// The same, within `max` characters: a message that would be longer is cut after escaping
    /// and ends with "…". The cut never splits an escape (`&amp;`), a mention, or a code or bold
    /// span (a cut span is closed again), so what Slack shows is the start of the whole text.
    pub fn to_mrkdwn_within(&self, max: usize) -> Mrkdwn {
        let whole = self.to_mrkdwn();
        if whole.0.chars().count() <= max {
            return whole;
        }
        // Room for the ellipsis.
        let budget = max.saturating_sub(1);
        let mut out = String::new();
        let mut used = 0;
        for span in &self.0 {
            let rendered = Msg(vec![span.clone()]).to_mrkdwn().0;
            let n = rendered.chars().count();
            if used + n <= budget {
                out.push_str(&rendered);
                used += n;
                continue;
            }
            let room = budget - used;
            match span {
                Span::User(_) | Span::Group(_) => {}
                Span::Lit(s) => out.push_str(&lit_prefix(s, room)),
                Span::Text(s) => out.push_str(&escaped_prefix(s, room)),
                Span::Code(s) => out.push_str(&delimited_prefix('`', &code_body(s), room)),
                Span::Bold(s) => out.push_str(&delimited_prefix('*', &s.replace('*', "∗"), room)),
            }
            break;
        }
        out.push('…');
        Mrkdwn(out)
    }

    /// The same message for a terminal: nothing escaped, mentions as `@U…`, and control
    /// characters in untrusted text shown as `\u{…}` so they cannot drive the terminal.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for span in &self.0 {
            match span {
                Span::Lit(s) => out.push_str(s),
                Span::Text(s) => out.push_str(&printable(s)),
                Span::Code(s) => {
                    out.push('`');
                    out.push_str(&printable(&code_body(s)));
                    out.push('`');
                }
                Span::Bold(s) => {
                    out.push('*');
                    out.push_str(&printable(s));
                    out.push('*');
                }
                Span::User(u) => {
                    out.push('@');
                    out.push_str(u.as_str());
                }
                Span::Group(g) => {
                    out.push('@');
                    out.push_str(g.as_str());
                }
            }
        }
        out
    }
}

/// The longest start of `s`, escaped, within `room` characters: whole escapes only.
fn escaped_prefix(s: &str, room: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let mut one = String::new();
        escape(&c.to_string(), &mut one);
        let n = one.chars().count();
        if used + n > room {
            break;
        }
        out.push_str(&one);
        used += n;
    }
    out
}

/// A cut code or bold span: opened, as much as fits, closed again (nothing when nothing fits).
fn delimited_prefix(delimiter: char, body: &str, room: usize) -> String {
    if room < 3 {
        return String::new();
    }
    let inner = escaped_prefix(body, room - 2);
    if inner.is_empty() {
        return String::new();
    }
    format!("{delimiter}{inner}{delimiter}")
}

/// A cut literal (the bot's own text): whole characters, and never an unclosed `<…>` token.
fn lit_prefix(s: &str, room: usize) -> String {
    let mut out: String = s.chars().take(room).collect();
    if let Some(open) = out.rfind('<')
        && !out[open..].contains('>')
    {
        out.truncate(open);
    }
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out
}

/// Plain text (a header, a button, an option) within `max` characters, ending in "…" when cut.
pub fn plain_within(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
}

/// Text that is safe to print on a terminal: control characters (escape sequences, carriage
/// returns, bells) become visible `\u{…}` escapes; newlines and tabs stay.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// No mention, broadcast or link can appear in rendered text except those the bot built.
    pub fn has_no_slack_control(m: &str) -> bool {
        !m.contains('<') && !m.contains('>')
    }

    #[test]
    fn untrusted_text_is_escaped_exactly_once() {
        let m = Msg::new()
            .lit("*Reason*: ")
            .text("a & b <!channel> &amp;")
            .to_mrkdwn();
        assert_eq!(m.as_str(), "*Reason*: a &amp; b &lt;!channel&gt; &amp;amp;");
    }

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        let m = Msg::new().code("x` <!here> `y").to_mrkdwn();
        assert_eq!(m.as_str(), "`x' &lt;!here&gt; 'y`");
    }

    #[test]
    fn mentions_come_only_from_validated_ids() {
        let u = SlackUserId::parse("U0ALICE").unwrap();
        let g = SlackGroupId::parse("S0SEC").unwrap();
        let m = Msg::new().user(&u).lit(" ").group(&g).to_mrkdwn();
        assert_eq!(m.as_str(), "<@U0ALICE> <!subteam^S0SEC>");
    }

    #[test]
    fn plain_text_shows_control_characters() {
        assert_eq!(
            Msg::new().text("ok\u{1b}[2Jgone\r").to_plain(),
            "ok\\u{1b}[2Jgone\\u{d}"
        );
    }

    /// Every `&` starts one of the three escapes: no escape was cut in half.
    fn escapes_whole(m: &str) -> bool {
        m.match_indices('&').all(|(i, _)| {
            ["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| m[i..].starts_with(e))
        })
    }

    #[test]
    fn a_long_text_is_cut_after_escaping_between_escapes_and_ends_with_an_ellipsis() {
        let m = Msg::new()
            .lit("*Reason*\n")
            .text("&".repeat(500))
            .to_mrkdwn_within(2000);
        let s = m.as_str();
        assert!(s.chars().count() <= 2000, "{}", s.chars().count());
        assert!(s.ends_with("&amp;…"), "{s}");
        assert!(escapes_whole(s));
        // Short enough: unchanged.
        let short = Msg::new().text("a & b").to_mrkdwn_within(2000);
        assert_eq!(short.as_str(), "a &amp; b");
    }

    #[test]
    fn a_cut_never_splits_a_mention_and_closes_a_cut_code_span() {
        let u = SlackUserId::parse("U0ALICE").unwrap();
        let m = Msg::new().lit("by ").user(&u).to_mrkdwn_within(8);
        assert_eq!(m.as_str(), "by …");
        let m = Msg::new().code("x".repeat(100)).to_mrkdwn_within(10);
        assert_eq!(m.as_str(), "`xxxxxxx`…");
        let m = Msg::new().lit("see `<role>` here").to_mrkdwn_within(8);
        assert_eq!(m.as_str(), "see `…");
    }

    proptest! {
        #[test]
        fn hostile_text_never_renders_a_slack_control_sequence(s in "\\PC*", t in "[<>!@#&a-z|^`*]{0,40}") {
            for input in [&s, &t] {
                let m = Msg::new().lit("x ").text(input.clone()).code(input.clone()).bold(input.clone()).to_mrkdwn();
                prop_assert!(has_no_slack_control(m.as_str()), "{}", m);
                // Decoding what Slack shows gives back the input: escaped once, not twice.
                let shown = Msg::new().text(input.clone()).to_mrkdwn();
                let decoded = shown.as_str().replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
                prop_assert_eq!(&decoded, input);
            }
        }

        #[test]
        fn a_cut_message_stays_within_its_limit_and_escaped(
            s in "[&<>a-z@!|: /.]{0,600}",
            max in 1usize..400,
        ) {
            let u = SlackUserId::parse("U0ALICE").unwrap();
            let m = Msg::new().lit("*Reason*\n").text(s.clone()).lit(" by ").user(&u).code(s.clone()).bold(s.clone());
            let cut = m.to_mrkdwn_within(max);
            let text = cut.as_str();
            prop_assert!(text.chars().count() <= max.max(1), "{} > {max}", text.chars().count());
            prop_assert!(escapes_whole(text), "{}", text);
            // The only `<` is the whole mention the bot built.
            let without = text.replace("<@U0ALICE>", "");
            prop_assert!(has_no_slack_control(&without), "{}", text);
        }
    }
}
