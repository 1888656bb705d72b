//! Text shaped to make a parser do the most work for its size, rendered and read at
//! 100 KB. Each stage must stay within a bound relative to an ordinary spec of the same
//! size, measured in the same test: quadratic work would take hundreds of times longer.

use charter_types::Kind;
use std::time::{Duration, Instant};

use super::{to_html, LinkTarget};
use crate::budget::{Budget, LIMIT};
use crate::structure::{lint, Corpus, Doc};
use crate::templates;

const SIZE: usize = 100 * 1024;

/// How many times slower than ordinary text a shape may be, plus a little: the worst
/// real shape (a heading on every line, each with its anchor) is about fifteen.
const FACTOR: u32 = 25;
const SLACK: Duration = Duration::from_millis(100);

/// `unit` repeated to `SIZE` bytes.
fn fill(unit: &str) -> String {
    unit.repeat(SIZE / unit.len() + 1)
}

/// Lines built by `line(i)` until `SIZE` bytes.
fn lines(line: impl Fn(usize) -> String) -> String {
    let mut text = String::new();
    for index in 0.. {
        if text.len() >= SIZE {
            break;
        }
        text.push_str(&line(index));
    }
    text
}

fn ordinary() -> String {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
    fill(&templates::render(Kind::Spec, None, "Login", None, day))
}

fn shapes() -> Vec<(&'static str, String)> {
    let marks = ["*", "_"].repeat(SIZE / 8);
    vec![
        ("quote markers", fill(">")),
        ("spaced quote markers", fill("> ")),
        ("list markers on one line", format!("{}x", fill("- "))),
        ("numbered list markers on one line", format!("{}x", fill("1. "))),
        ("quotes and lists", format!("{}x", fill("> - "))),
        ("ever deeper list items", lines(|depth| format!("{}- a\n", "  ".repeat(depth)))),
        ("ever deeper numbered items", lines(|depth| format!("{}1. a\n", "   ".repeat(depth)))),
        ("stars", fill("*")),
        ("emphasis runs", fill("*a **a ***a _a __a ")),
        ("nested emphasis", {
            let opening: String = marks.iter().map(|mark| format!("{mark}w ")).collect();
            let closing: String = marks.iter().rev().map(|mark| format!(" w{mark}")).collect();
            format!("{opening}x{closing}")
        }),
        ("opening brackets", fill("[")),
        ("closing brackets", fill("]")),
        ("unclosed links", fill("[a](")),
        ("backticks", fill("`")),
        ("backtick ladder", lines(|width| format!("{} ", "`".repeat(width + 1)))),
        ("table pipes", format!("{}\n{}\n{}", fill("|a"), fill("|-"), fill("|a"))),
        (
            "wide tables over short rows",
            fill(&format!("{}\n{}\n{}\n", "|a".repeat(300), "|-".repeat(300), "x\n".repeat(300))),
        ),
        ("link reference definitions", lines(|i| format!("[a{i}]: /u{i}\n"))),
        ("one long reference used everywhere", format!("[a]: /{}\n\n{}", "u".repeat(2000), fill("[a] "))),
        ("less-than signs", fill("<")),
        ("unclosed tags", fill("<a ")),
        ("nested divs", fill("<div>")),
        ("unclosed bold over paragraphs", fill("<b><p>y</p>")),
        ("text inside tables", fill("<table>a")),
        ("stray end tags", fill("<span><li></span><span><dd></span>")),
        ("distinct formatting", lines(|i| format!("<b title={i}><p>x</p>\n"))),
        ("link brackets", fill("[[")),
        ("links", fill("[[a]] ")),
        ("headings", fill("# a\n")),
        ("latin-1 text", fill("©")),
        ("ampersands", fill("a & b ")),
        ("footnotes", lines(|i| format!("[^{i}]: x [^{i}]\n"))),
        ("requirement IDs", fill("A-1 ")),
        ("duplicate requirements", fill("### A-1: t\nThe system SHALL be fast.\n")),
    ]
}

fn render(text: &str) -> String {
    let resolve = |target: &str| {
        (target == "a").then(|| LinkTarget { href: "/a".into(), title: "A".into(), preview: "a".into() })
    };
    to_html(text, Some(&resolve), &Budget::new(LIMIT)).unwrap()
}

fn read(text: &str) -> usize {
    let corpus = Corpus::new(vec![Doc::new(
        charter_types::DocumentId::from_uuid(uuid::Uuid::nil()),
        "Doc".into(),
        Kind::Spec,
        text.to_owned(),
    )]);
    lint::all(&corpus, &Budget::new(LIMIT)).unwrap().len()
}

/// Asserts `work` (given a shape's name and text, and returning how long it took) on
/// every shape takes at most the bound set by ordinary text; a shape over it is measured
/// again (twice at most), with the baseline, in case the machine was busy.
fn within_bound(stage: &str, work: impl Fn(&str, &str) -> Duration) {
    let ordinary = ordinary();
    let baseline = || (0..3).map(|_| work("ordinary text", &ordinary)).min().expect("three runs");
    let mut normal = baseline();
    for (shape, text) in shapes() {
        let mut took = work(shape, &text);
        for _ in 0..2 {
            if took <= normal * FACTOR + SLACK {
                break;
            }
            normal = normal.max(baseline());
            took = took.min(work(shape, &text));
        }
        assert!(
            took <= normal * FACTOR + SLACK,
            "{stage} of {shape} took {took:?}, ordinary text of the same size {normal:?}"
        );
    }
}

/// What a shape renders to still says what it said, within reason.
fn assert_sane(shape: &str, text: &str, html: &str) {
    assert!(html.len() < 40 * text.len(), "{shape} grew to {} bytes", html.len());
    assert!(!html.contains("<script"), "{shape}");
    match shape {
        "quote markers" => {
            assert_eq!(html.matches("<blockquote>").count(), 32, "quotes nest 32 deep");
            assert!(html.matches("&gt;").count() > SIZE - 100, "deeper markers are text");
        }
        "latin-1 text" => assert_eq!(html.matches('©').count(), text.matches('©').count(), "cut text stays whole"),
        "nested divs" => assert!(html.matches("<div>").count() <= 256, "{shape}"),
        _ => {}
    }
}

#[test]
fn every_shape_renders_within_a_bound_of_ordinary_text() {
    within_bound("rendering", |shape, text| {
        let started = Instant::now();
        let html = render(text);
        let took = started.elapsed();
        assert_sane(shape, text, &html);
        took
    });
}

#[test]
fn every_shape_is_read_and_linted_within_a_bound_of_ordinary_text() {
    within_bound("reading", |_, text| {
        let started = Instant::now();
        std::hint::black_box(read(text));
        started.elapsed()
    });
}
