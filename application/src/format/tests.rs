//! The formatting table: model outputs and the exact text (and Telegram entities) each platform is sent.

use super::*;

/// One model output and what each markup makes of it, when it fits one message.
struct Row {
    markdown: &'static str,
    /// Telegram's text and entities.
    telegram: (&'static str, Vec<Entity>),
    whatsapp: &'static str,
    /// Messenger's.
    plain: &'static str,
}

fn entity(kind: EntityKind, offset: usize, length: usize) -> Entity {
    Entity {
        kind,
        offset,
        length,
    }
}

fn one_part(markdown: &str, markup: Markup) -> RichText {
    let mut parts = parts(markdown, markup, 4096);
    assert_eq!(parts.len(), 1, "{markdown:?} fits one message");
    parts.remove(0)
}

fn rows() -> Vec<Row> {
    use EntityKind::*;
    vec![
        Row {
            markdown: "Hello **world**",
            telegram: ("Hello world", vec![entity(Bold, 6, 5)]),
            whatsapp: "Hello *world*",
            plain: "Hello world",
        },
        Row {
            markdown: "Use `cargo test` and *care*.",
            telegram: (
                "Use cargo test and care.",
                vec![entity(Code, 4, 10), entity(Italic, 19, 4)],
            ),
            whatsapp: "Use `cargo test` and _care_.",
            plain: "Use cargo test and care.",
        },
        Row {
            markdown: "~~old~~ new",
            telegram: ("old new", vec![entity(Strikethrough, 0, 3)]),
            whatsapp: "~old~ new",
            plain: "old new",
        },
        Row {
            markdown: "Run:\n\n```rust\nfn main() {\n    go();\n}\n```\nDone.",
            telegram: (
                "Run:\n\nfn main() {\n    go();\n}\n\nDone.",
                vec![entity(
                    Pre {
                        language: Some("rust".into()),
                    },
                    6,
                    23,
                )],
            ),
            whatsapp: "Run:\n\n```fn main() {\n    go();\n}```\n\nDone.",
            plain: "Run:\n\nfn main() {\n    go();\n}\n\nDone.",
        },
        Row {
            markdown: "See [the docs](https://example.com/a_b).",
            telegram: (
                "See the docs.",
                vec![entity(
                    TextLink {
                        url: "https://example.com/a_b".into(),
                    },
                    4,
                    8,
                )],
            ),
            whatsapp: "See the docs (https://example.com/a_b).",
            plain: "See the docs (https://example.com/a_b).",
        },
        Row {
            markdown: "Mail [me](mailto:a@example.com) or <https://example.com>",
            telegram: (
                "Mail me (mailto:a@example.com) or https://example.com",
                vec![],
            ),
            whatsapp: "Mail me (mailto:a@example.com) or https://example.com",
            plain: "Mail me (mailto:a@example.com) or https://example.com",
        },
        Row {
            markdown: "# Plan\n\nSteps:\n\n1. one\n2. **two**\n\n- a\n  - b",
            telegram: (
                "Plan\n\nSteps:\n\n1. one\n2. two\n\n• a\n  • b",
                vec![entity(Bold, 0, 4), entity(Bold, 24, 3)],
            ),
            whatsapp: "*Plan*\n\nSteps:\n\n1. one\n2. *two*\n\n• a\n  • b",
            plain: "Plan\n\nSteps:\n\n1. one\n2. two\n\n• a\n  • b",
        },
        Row {
            markdown: "> quoted\n> *text*\n\nafter",
            telegram: (
                "quoted\ntext\n\nafter",
                vec![entity(Blockquote, 0, 11), entity(Italic, 7, 4)],
            ),
            whatsapp: "> quoted\n> _text_\n\nafter",
            plain: "> quoted\n> text\n\nafter",
        },
        Row {
            // Offsets count UTF-16 units: the emoji takes two.
            markdown: "😀 **hi**",
            telegram: ("😀 hi", vec![entity(Bold, 3, 2)]),
            whatsapp: "😀 *hi*",
            plain: "😀 hi",
        },
        Row {
            // What is not markup stays as written; entities are decoded.
            markdown: "2 * 3 = 6, snake_case_name, Tom &amp; Jerry",
            telegram: ("2 * 3 = 6, snake_case_name, Tom & Jerry", vec![]),
            whatsapp: "2 * 3 = 6, snake_case_name, Tom & Jerry",
            plain: "2 * 3 = 6, snake_case_name, Tom & Jerry",
        },
        Row {
            markdown: "| a | b |\n|---|---|\n| 1 | 2 |",
            telegram: ("a | b\n1 | 2", vec![]),
            whatsapp: "a | b\n1 | 2",
            plain: "a | b\n1 | 2",
        },
        Row {
            markdown: "**bold _and italic_**",
            telegram: (
                "bold and italic",
                vec![entity(Bold, 0, 15), entity(Italic, 5, 10)],
            ),
            whatsapp: "*bold _and italic_*",
            plain: "bold and italic",
        },
    ]
}

#[test]
fn each_model_output_becomes_the_exact_body_of_each_platform() {
    for row in rows() {
        let telegram = one_part(row.markdown, Markup::Entities);
        assert_eq!(
            (
                telegram.render(Markup::Entities).as_str(),
                telegram.entities()
            ),
            (row.telegram.0, row.telegram.1),
            "Telegram, for {:?}",
            row.markdown
        );
        let whatsapp = one_part(row.markdown, Markup::WhatsApp);
        assert_eq!(whatsapp.render(Markup::WhatsApp), row.whatsapp);
        let plain = one_part(row.markdown, Markup::Plain);
        assert_eq!(plain.render(Markup::Plain), row.plain);
        let discord = one_part(row.markdown, Markup::Markdown);
        assert_eq!(
            discord.render(Markup::Markdown),
            row.markdown,
            "Discord gets the Markdown as it is"
        );
    }
}

fn rendered(markdown: &str, markup: Markup, max: usize) -> Vec<String> {
    parts(markdown, markup, max)
        .iter()
        .map(|part| part.render(markup))
        .collect()
}

#[test]
fn a_code_block_cut_in_two_is_closed_and_reopened_in_discord_markdown() {
    let markdown = "```py\nline1\nline2\nline3\n```";
    assert_eq!(
        rendered(markdown, Markup::Markdown, 20),
        vec![
            "```py\nline1\n```",
            "```py\nline2\n```",
            "```py\nline3\n```"
        ]
    );
}

#[test]
fn a_code_block_cut_in_two_is_a_code_block_in_each_telegram_part() {
    let code: String = (0..40).map(|i| format!("let x{i} = {i};\n")).collect();
    let markdown = format!("Here:\n\n```rust\n{code}```\nThat is all.");
    let parts = parts(&markdown, Markup::Entities, 200);
    assert!(parts.len() >= 3, "{parts:?}");
    assert!(
        parts[0].text.starts_with("Here:\n\nlet x0 = 0;\n"),
        "no part for the intro alone"
    );
    let pre = EntityKind::Pre {
        language: Some("rust".into()),
    };
    for part in &parts[1..] {
        let entities = part.entities();
        assert_eq!((&entities[0].kind, entities[0].offset), (&pre, 0));
        assert!(part.text.starts_with("let x"), "cut at a line: {part:?}");
    }
    let (middle, last) = (&parts[1..parts.len() - 1], parts.last().unwrap());
    for part in middle {
        let length = crate::text::utf16_len(&part.text);
        assert_eq!(part.entities()[0].length, length, "all code: {part:?}");
    }
    assert!(last.text.ends_with(";\n\nThat is all."), "{last:?}");
}

#[test]
fn a_cut_never_falls_inside_a_bold_or_a_link() {
    let markdown =
        "word ".repeat(30) + "**bold run of words** and [a link text](https://example.com/x)";
    for max in 20..60 {
        for part in parts(&markdown, Markup::Entities, max) {
            for entity in part.entities() {
                assert!(!entity_is_cut(&part, &entity), "max {max}: {part:?}");
            }
        }
    }
}

/// A bold or link entity that does not hold all of its words.
fn entity_is_cut(part: &RichText, entity: &Entity) -> bool {
    let span = part
        .spans
        .iter()
        .find(|span| crate::text::utf16_len(&part.text[..span.start]) == entity.offset)
        .unwrap();
    span.continued || span.continues
}

#[test]
fn whatsapp_parts_fit_with_their_markers() {
    let markdown = "**bold** ".repeat(1000);
    let parts = rendered(&markdown, Markup::WhatsApp, 4096);
    assert!(parts.len() > 1);
    for part in &parts {
        assert!(crate::text::utf16_len(part) <= 4096);
        assert!(
            part.starts_with("*bold*") && part.ends_with("*bold*"),
            "{part}"
        );
    }
}

#[test]
fn blank_text_has_no_parts() {
    assert!(parts("  \n\n ", Markup::Entities, 4096).is_empty());
    assert!(parts("", Markup::Markdown, 2000).is_empty());
}
