//! Wildcard (`*`, `?`) matching, ARN segment matching and policy-variable templates.
//!
//! Patterns are compiled once; matching never allocates. Only a template that contains a policy
//! variable renders (allocates) per request.

use crate::context::Context;

/// One compiled pattern element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    Star,
    Quest,
}

/// Splits text into wildcard tokens (no variables).
pub(crate) fn tokens(text: &str) -> Vec<Tok> {
    text.chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::Quest,
            c => Tok::Lit(c),
        })
        .collect()
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

fn char_eq(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Glob match of `s` against the tokens; `*` matches any run (also empty), `?` one character.
pub(crate) fn glob(p: &[Tok], s: &str, ignore_case: bool) -> bool {
    glob_joined(&[], p, s, ignore_case)
}

/// [`glob`] of the tokens of `head` followed by those of `p`, without joining them.
fn glob_joined(head: &[Tok], p: &[Tok], s: &str, ignore_case: bool) -> bool {
    let token = |i: usize| match i.checked_sub(head.len()) {
        None => head.get(i),
        Some(j) => p.get(j),
    };
    let sb = s.as_bytes();
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = token(pi) {
            match *tok {
                Tok::Star => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                Tok::Quest => {
                    if let Some(&b) = sb.get(si) {
                        si += utf8_len(b);
                        pi += 1;
                        continue;
                    }
                }
                Tok::Lit(c) if c.is_ascii() => {
                    if let Some(&b) = sb.get(si)
                        && (b == c as u8 || (ignore_case && b.eq_ignore_ascii_case(&(c as u8))))
                    {
                        si += 1;
                        pi += 1;
                        continue;
                    }
                }
                Tok::Lit(c) => {
                    if let Some(ch) = s.get(si..).and_then(|r| r.chars().next())
                        && char_eq(c, ch, ignore_case)
                    {
                        si += ch.len_utf8();
                        pi += 1;
                        continue;
                    }
                }
            }
        } else if si >= sb.len() {
            return true;
        }
        match star {
            Some((sp, ss)) if ss < sb.len() => {
                let next = ss + sb.get(ss).map_or(1, |&b| utf8_len(b));
                star = Some((sp, next));
                pi = sp + 1;
                si = next;
            }
            _ => return false,
        }
    }
}

/// Literal comparison of rendered tokens (wildcards compare as the characters `*` and `?`).
fn literal_eq(p: &[Tok], s: &str, ignore_case: bool) -> bool {
    let mut chars = s.chars();
    for tok in p {
        let c = match *tok {
            Tok::Lit(c) => c,
            Tok::Star => '*',
            Tok::Quest => '?',
        };
        match chars.next() {
            Some(ch) if char_eq(c, ch, ignore_case) => {}
            _ => return false,
        }
    }
    chars.next().is_none()
}

/// Positions of the first (up to) five `:` literals.
fn arn_colons(p: &[Tok]) -> ([usize; 5], usize) {
    let mut out = [0usize; 5];
    let mut n = 0;
    for (i, t) in p.iter().enumerate() {
        if *t == Tok::Lit(':') {
            if let Some(slot) = out.get_mut(n) {
                *slot = i;
            }
            n += 1;
            if n == 5 {
                break;
            }
        }
    }
    (out, n)
}

fn is_arn_pattern(p: &[Tok]) -> bool {
    matches!(
        p,
        [
            Tok::Lit('a'),
            Tok::Lit('r'),
            Tok::Lit('n'),
            Tok::Lit(':'),
            ..
        ]
    )
}

/// ARN matching for `ArnLike` / `ArnNotLike` ("each of the six colon-delimited components of the
/// ARN is checked separately"): when the pattern is an ARN (`arn:...`), wildcards match within
/// partition, service, region and account separately and across the resource part (the last
/// segment the pattern has takes the rest of the ARN); otherwise the whole text is globbed.
pub(crate) fn arn_glob(p: &[Tok], s: &str) -> bool {
    if !is_arn_pattern(p) {
        return glob(p, s, false);
    }
    let (colons, n) = arn_colons(p);
    let mut segs = s.splitn(n + 1, ':');
    let mut start = 0usize;
    for end in colons
        .iter()
        .take(n)
        .copied()
        .chain(std::iter::once(p.len()))
    {
        let Some(seg) = segs.next() else { return false };
        let Some(pseg) = p.get(start..end) else {
            return false;
        };
        if !glob(pseg, seg, false) {
            return false;
        }
        start = end + 1;
    }
    true
}

/// Where the text segment that starts at `from` ends: at the next `:`, or at the end.
fn segment_end(s: &str, from: usize) -> usize {
    s.get(from..)
        .and_then(|rest| rest.find(':'))
        .map_or(s.len(), |i| from + i)
}

/// How matching a run of pattern segments from one text position ended.
enum Walk {
    /// The rest of the pattern matched the rest of the text.
    Matched,
    Failed,
    /// Segment `.0`, not the pattern's last, ends with a `*` and matched the text segment that
    /// ends at `.1`; its `*` may go on across any of the colons from `.1` on.
    Crossed(usize, usize),
}

/// An ARN pattern cut into its segments: `arn`, partition, service, region, account and, after
/// the fifth colon, the resource (which keeps its own colons).
struct ArnSegments<'p> {
    toks: &'p [Tok],
    bounds: [(usize, usize); 6],
    count: usize,
}

impl<'p> ArnSegments<'p> {
    fn new(toks: &'p [Tok]) -> ArnSegments<'p> {
        let (colons, n) = arn_colons(toks);
        let mut bounds = [(0usize, 0usize); 6];
        let mut start = 0;
        for (slot, &colon) in bounds.iter_mut().zip(colons.iter().take(n)) {
            *slot = (start, colon);
            start = colon + 1;
        }
        if let Some(slot) = bounds.get_mut(n) {
            *slot = (start, toks.len());
        }
        ArnSegments {
            toks,
            bounds,
            count: n + 1,
        }
    }

    fn segment(&self, j: usize) -> &'p [Tok] {
        self.bounds
            .get(j)
            .and_then(|&(a, b)| self.toks.get(a..b))
            .unwrap_or_default()
    }

    /// Matches segments from `j` on against the text from `t` on, as far as the next segment
    /// that ends with a `*` (whose stretch across colons the caller explores).
    fn walk(&self, mut j: usize, mut t: usize, s: &str) -> Walk {
        loop {
            let seg = self.segment(j);
            if j == 5 {
                // The resource part: wildcards are free, colons included.
                return match s.get(t..) {
                    Some(rest) if glob(seg, rest, false) => Walk::Matched,
                    _ => Walk::Failed,
                };
            }
            let end = segment_end(s, t);
            if !s.get(t..end).is_some_and(|text| glob(seg, text, false)) {
                return Walk::Failed;
            }
            let last = j + 1 == self.count;
            if seg.last() == Some(&Tok::Star) {
                return if last {
                    Walk::Matched
                } else {
                    Walk::Crossed(j, end)
                };
            }
            if last {
                return if end == s.len() {
                    Walk::Matched
                } else {
                    Walk::Failed
                };
            }
            if end == s.len() {
                return Walk::Failed;
            }
            (j, t) = (j + 1, end + 1);
        }
    }
}

/// Resource-element matching as the IAM User Guide documents it ("Using wildcards in resource
/// ARNs"): `*` and `?` match within an ARN segment (the parts separated by colons), except that
/// "if the `*` wildcard is the last character of a resource ARN segment, it can expand to match
/// beyond the colon boundaries". So `arn:aws:sqs:*` covers every queue, and
/// `arn:aws:iam::*:user/*` every user of every account. The resource part (after the fifth
/// colon) is one segment, colons and all. A pattern that is not an ARN is globbed whole.
///
/// Never allocates; the text positions tried are bounded by (number of `*`-ended segments) ×
/// (colons in the text).
pub(crate) fn resource_glob(p: &[Tok], s: &str) -> bool {
    if !is_arn_pattern(p) {
        return glob(p, s, false);
    }
    let segments = ArnSegments::new(p);
    let (mut j, mut from) = match segments.walk(0, 0, s) {
        Walk::Matched => return true,
        Walk::Failed => return false,
        Walk::Crossed(j, end) => (j + 1, end),
    };
    loop {
        if j == 5 {
            // The resource part starts after any colon from `from` on: one glob of `*:` and the
            // resource pattern, rather than one glob per colon.
            const ANY_THEN_COLON: [Tok; 2] = [Tok::Star, Tok::Lit(':')];
            return s.get(from..).is_some_and(|rest| {
                glob_joined(&ANY_THEN_COLON, segments.segment(5), rest, false)
            });
        }
        // The `*` ending segment j - 1 stretches to some colon at or after `from`; every
        // candidate reaches the same next `*`-ended segment, and the earliest one to get there
        // leaves the most text to the rest.
        let mut next = None;
        for (colon, _) in s.get(from..).unwrap_or_default().match_indices(':') {
            match segments.walk(j, from + colon + 1, s) {
                Walk::Matched => return true,
                Walk::Failed => {}
                Walk::Crossed(k, end) => {
                    next = Some((k + 1, end));
                    break;
                }
            }
        }
        match next {
            Some(state) => (j, from) = state,
            None => return false,
        }
    }
}

/// A pattern without variables, with fast paths for the common shapes.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    shape: Shape,
    toks: Box<[Tok]>,
}

#[derive(Debug, Clone)]
enum Shape {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Glob,
}

impl Pattern {
    pub(crate) fn new(toks: Vec<Tok>) -> Pattern {
        let lits = |t: &[Tok]| -> Option<String> {
            t.iter()
                .map(|t| match t {
                    Tok::Lit(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        let shape = match toks.as_slice() {
            [Tok::Star] => Shape::Any,
            [head @ .., Tok::Star] if lits(head).is_some() => {
                Shape::Prefix(lits(head).unwrap_or_default().into())
            }
            t => match lits(t) {
                Some(s) => Shape::Exact(s.into()),
                None => Shape::Glob,
            },
        };
        Pattern {
            shape,
            toks: toks.into(),
        }
    }

    pub(crate) fn parse(text: &str) -> Pattern {
        Pattern::new(tokens(text))
    }

    /// Case-insensitive (ASCII) match, as for action names.
    pub(crate) fn matches_ignore_case(&self, s: &str) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(e) => e.eq_ignore_ascii_case(s),
            Shape::Prefix(pre) => s
                .get(..pre.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(pre)),
            Shape::Glob => glob(&self.toks, s, true),
        }
    }

    /// `ArnLike` matching (see [`arn_glob`]).
    pub(crate) fn matches_arn(&self, s: &str) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(e) => **e == *s,
            _ => arn_glob(&self.toks, s),
        }
    }

    /// `Resource` / `NotResource` matching (see [`resource_glob`]).
    pub(crate) fn matches_resource(&self, s: &str) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(e) => **e == *s,
            _ => resource_glob(&self.toks, s),
        }
    }

    pub(crate) fn toks(&self) -> &[Tok] {
        &self.toks
    }
}

/// A piece of a template.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    Toks(Vec<Tok>),
    /// `${*}`, `${?}`, `${$}`: a character that is never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`; `key` is lower-cased.
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// Text that may contain policy variables (only when the policy's `Version` is `2012-10-17`).
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Static(Pattern),
    /// Parts, and the literal text every rendering starts with (for a cheap early rejection).
    Dynamic(Vec<Part>, Box<str>),
}

/// What rendering a template against a request gives.
pub(crate) enum Rendered<'t> {
    Static(&'t Pattern),
    Owned(Vec<Tok>),
    /// A variable's key was absent (or multi-valued) with no default: matches nothing.
    Unresolved,
}

impl Template {
    pub(crate) fn parse(text: &str, variables: bool) -> Template {
        if !variables || !text.contains("${") {
            return Template::Static(Pattern::parse(text));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        let mut has_var = false;
        let mut escaped = Vec::new();
        while let Some(at) = rest.find("${") {
            let (before, after) = rest.split_at(at);
            let Some(close) = after.find('}') else { break };
            let inner = after.get(2..close).unwrap_or_default();
            if !before.is_empty() {
                parts.push(Part::Toks(tokens(before)));
            }
            match inner {
                "*" | "?" | "$" => {
                    let c = inner.chars().next().unwrap_or('$');
                    parts.push(Part::Escaped(c));
                    escaped.push(c);
                }
                _ => {
                    has_var = true;
                    let (key, default) = match inner.split_once(',') {
                        Some((k, d)) => {
                            let d = d.trim();
                            let d = d
                                .strip_prefix('\'')
                                .and_then(|d| d.strip_suffix('\''))
                                .unwrap_or(d);
                            (k.trim(), Some(d.into()))
                        }
                        None => (inner.trim(), None),
                    };
                    parts.push(Part::Var {
                        key: key.to_ascii_lowercase().into(),
                        default,
                    });
                }
            }
            rest = after.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Toks(tokens(rest)));
        }
        if has_var {
            let prefix: String = match parts.first() {
                Some(Part::Toks(t)) => t
                    .iter()
                    .map_while(|t| match t {
                        Tok::Lit(c) => Some(*c),
                        _ => None,
                    })
                    .collect(),
                _ => String::new(),
            };
            return Template::Dynamic(parts, prefix.into());
        }
        // Only escapes: fold into a static pattern.
        let toks = parts
            .into_iter()
            .flat_map(|p| match p {
                Part::Toks(t) => t,
                Part::Escaped(c) => vec![Tok::Lit(c)],
                Part::Var { .. } => Vec::new(),
            })
            .collect();
        Template::Static(Pattern::new(toks))
    }

    /// Variable keys this template reads (lower-cased).
    pub(crate) fn variable_keys(&self) -> impl Iterator<Item = &str> {
        let parts: &[Part] = match self {
            Template::Static(_) => &[],
            Template::Dynamic(p, _) => p,
        };
        parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(&**key),
            _ => None,
        })
    }

    pub(crate) fn render<'t>(&'t self, ctx: &Context) -> Rendered<'t> {
        let parts = match self {
            Template::Static(p) => return Rendered::Static(p),
            Template::Dynamic(parts, _) => parts,
        };
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Toks(t) => out.extend_from_slice(t),
                Part::Escaped(c) => out.push(Tok::Lit(*c)),
                Part::Var { key, default } => {
                    let value = match ctx.get(key) {
                        Some([one]) => Some(one.as_str()),
                        Some(_) => None,
                        None => default.as_deref(),
                    };
                    match value {
                        Some(v) => out.extend(v.chars().map(Tok::Lit)),
                        None => return Rendered::Unresolved,
                    }
                }
            }
        }
        Rendered::Owned(out)
    }

    /// Whether `s` cannot match because it lacks the template's literal prefix.
    fn rejects(&self, s: &str) -> bool {
        matches!(self, Template::Dynamic(_, prefix) if !s.starts_with(&**prefix))
    }

    /// `ArnLike` match (segment-aware wildcards, see [`arn_glob`]).
    pub(crate) fn matches_arn(&self, ctx: &Context, s: &str) -> bool {
        if self.rejects(s) {
            return false;
        }
        match self.render(ctx) {
            Rendered::Static(p) => p.matches_arn(s),
            Rendered::Owned(t) => arn_glob(&t, s),
            Rendered::Unresolved => false,
        }
    }

    /// `Resource` / `NotResource` match (see [`resource_glob`]).
    pub(crate) fn matches_resource(&self, ctx: &Context, s: &str) -> bool {
        if self.rejects(s) {
            return false;
        }
        match self.render(ctx) {
            Rendered::Static(p) => p.matches_resource(s),
            Rendered::Owned(t) => resource_glob(&t, s),
            Rendered::Unresolved => false,
        }
    }

    /// `StringLike`: wildcards, case-sensitive.
    pub(crate) fn matches_like(&self, ctx: &Context, s: &str) -> bool {
        if self.rejects(s) {
            return false;
        }
        match self.render(ctx) {
            Rendered::Static(p) => glob(p.toks(), s, false),
            Rendered::Owned(t) => glob(&t, s, false),
            Rendered::Unresolved => false,
        }
    }

    /// `StringEquals` / `StringEqualsIgnoreCase`: no wildcards.
    pub(crate) fn matches_equal(&self, ctx: &Context, s: &str, ignore_case: bool) -> bool {
        match self.render(ctx) {
            Rendered::Static(p) => literal_eq(p.toks(), s, ignore_case),
            Rendered::Owned(t) => literal_eq(&t, s, ignore_case),
            Rendered::Unresolved => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(&tokens("a*c"), "abbbc", false));
        assert!(glob(&tokens("a?c"), "abc", false));
        assert!(!glob(&tokens("a?c"), "ac", false));
        assert!(glob(&tokens("*"), "", false));
        assert!(glob(&tokens("IAM:create*"), "iam:CreateUser", true));
        assert!(!glob(&tokens("a*b"), "a", false));
        assert!(glob(&tokens("é?"), "éü", false));
    }

    #[test]
    fn arn_segments() {
        let p = tokens("arn:aws:s3:::*log*");
        assert!(arn_glob(&p, "arn:aws:s3:::carlossalazar-logs"));
        assert!(!arn_glob(
            &tokens("arn:aws:ec2:*:1*"),
            "arn:aws:ec2:us-east-1:2:1"
        ));
        assert!(arn_glob(
            &tokens("arn:aws:logs:*:*:log-group:*"),
            "arn:aws:logs:r:1:log-group:a:b"
        ));
    }

    #[test]
    fn resource_wildcards() {
        let m = |p: &str, s: &str| resource_glob(&tokens(p), s);
        // A `*` ending the pattern's last segment covers the rest of the ARN.
        assert!(m("arn:aws:sqs:*", "arn:aws:sqs:us-east-1:123456789012:q"));
        assert!(m("arn:aws:sqs:*", "arn:aws:sqs:"));
        assert!(!m("arn:aws:sqs:*", "arn:aws:sns:us-east-1:123456789012:q"));
        assert!(!m("arn:aws:sqs:*", "arn:aws:sqs"));
        assert!(m(
            "arn:aws:ec2:us-east-1:*",
            "arn:aws:ec2:us-east-1:1:instance/i"
        ));
        assert!(!m(
            "arn:aws:ec2:us-east-1:*",
            "arn:aws:ec2:us-west-2:1:instance/i"
        ));
        // So does one ending a segment in the middle ("it can expand to match beyond the colon
        // boundaries").
        assert!(m(
            "arn:aws:sqs:*:q1",
            "arn:aws:sqs:us-east-1:123456789012:q1"
        ));
        assert!(!m(
            "arn:aws:sqs:*:q1",
            "arn:aws:sqs:us-east-1:123456789012:q2"
        ));
        assert!(m("arn:aws:ec2:*:1*", "arn:aws:ec2:us-east-1:2:1"));
        assert!(m("arn:aws:iam::*:user/*", "arn:aws:iam::1:role/x:user/y"));
        // Other wildcards stay within their segment.
        assert!(m("arn:aws:ec2:us-*-1:1:x", "arn:aws:ec2:us-east-1:1:x"));
        assert!(!m("arn:aws:ec2:us-*-1:1:x", "arn:aws:ec2:us-east:x-1:1:x"));
        assert!(!m("arn:aws:sqs:us-east-1?1:q", "arn:aws:sqs:us-east-1:1:q"));
        // A segment without a final `*` has to reach the end of the text.
        assert!(!m("arn:aws:sqs:us-east-1", "arn:aws:sqs:us-east-1:1:q"));
        assert!(m("arn:aws:sqs:us-east-1", "arn:aws:sqs:us-east-1"));
        // The resource part is one segment, its colons included.
        assert!(m(
            "arn:aws:logs:*:*:log-group:*",
            "arn:aws:logs:r:1:log-group:a:b"
        ));
        assert!(m("arn:aws:s3:::b/*x", "arn:aws:s3:::b/a:zx"));
        assert!(m(
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::1:user/division/bob"
        ));
        assert!(!m("arn:aws:iam::*:user/*", "arn:aws:iam::1:role/bob"));
        // Not an ARN: globbed whole.
        assert!(m("*", "arn:aws:sqs:us-east-1:1:q"));
    }

    #[test]
    fn resource_wildcards_many_colons() {
        // Each `*`-ended segment tries each colon once: no blow-up on a colon-heavy resource.
        let text = format!("arn:aws:sqs:{}:end", ":".repeat(20_000));
        for (pattern, hit) in [
            ("arn:aws:sqs:*:*:*:*:zz", false),
            ("arn:aws:sqs:*:*:*:*:end", true),
            ("arn:aws:sqs:*:*:*:*e*d", true),
            ("arn:aws:sqs:*:*:end", true),
            ("arn:aws:sqs:*:*:zz", false),
            ("arn:aws:sqs:*:zz", false),
        ] {
            assert_eq!(resource_glob(&tokens(pattern), &text), hit, "{pattern}");
        }
    }
}
