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
    let sb = s.as_bytes();
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = p.get(pi) {
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

/// ARN matching as IAM does it: when the pattern is an ARN (`arn:...`), wildcards match within
/// partition, service, region and account separately and across the resource part (the last
/// segment the pattern has takes the rest of the ARN); otherwise the whole text is globbed.
pub(crate) fn arn_glob(p: &[Tok], s: &str) -> bool {
    let is_arn = matches!(
        p,
        [
            Tok::Lit('a'),
            Tok::Lit('r'),
            Tok::Lit('n'),
            Tok::Lit(':'),
            ..
        ]
    );
    if !is_arn {
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

    pub(crate) fn matches_arn(&self, s: &str) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(e) => **e == *s,
            _ => arn_glob(&self.toks, s),
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

    /// Resource / ARN match (segment-aware wildcards).
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
}
