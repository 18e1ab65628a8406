//! Terminal escape sequences out of text the runner sends. Playwright colours
//! its error messages (`\u{1b}[2m…\u{1b}[22m`) and segment code may print
//! anything; stored and returned text must be plain, and only segue's own CLI
//! decides whether a terminal gets colours.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// The one-character form of `ESC [` (C1 control sequence introducer).
const CSI: char = '\u{9b}';

/// `text` without ANSI escape sequences (CSI such as colours and cursor moves,
/// OSC such as titles and links, and two-character escapes). Nothing else changes.
pub fn strip(text: &str) -> Cow<'_, str> {
    if !text.contains([ESC, CSI]) {
        return Cow::Borrowed(text);
    }
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let csi = match c {
            CSI => true,
            ESC => match chars.next() {
                Some('[') => true,
                Some(']') => {
                    skip_osc(&mut chars);
                    false
                }
                // A two-character escape (`ESC c`, `ESC =`), or a lone ESC at the end.
                _ => false,
            },
            other => {
                plain.push(other);
                false
            }
        };
        if csi {
            // Parameter and intermediate bytes, then one final byte in `@`..=`~`.
            for next in chars.by_ref() {
                if ('@'..='~').contains(&next) {
                    break;
                }
            }
        }
    }
    Cow::Owned(plain)
}

/// An operating system command ends with BEL or `ESC \`.
fn skip_osc(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        if c == BEL {
            return;
        }
        if c == ESC && chars.peek() == Some(&'\\') {
            chars.next();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn strips_escape_sequences_and_keeps_the_rest() {
        let cases = [
            ("plain text, unchanged", "plain text, unchanged"),
            (
                "Timeout 100ms exceeded.\n\u{1b}[2m  - waiting for locator('#nope')\u{1b}[22m\n",
                "Timeout 100ms exceeded.\n  - waiting for locator('#nope')\n",
            ),
            ("\u{1b}[1;31mred\u{1b}[0m and \u{1b}[38;5;208morange\u{1b}[m", "red and orange"),
            ("\u{9b}31mC1 form\u{9b}0m", "C1 form"),
            ("\u{1b}]0;window title\u{7}after", "after"),
            ("\u{1b}]8;;https://x.test\u{1b}\\link\u{1b}]8;;\u{1b}\\", "link"),
            ("reset\u{1b}c done", "reset done"),
            ("cut at the end \u{1b}[31", "cut at the end "),
            ("lone \u{1b}", "lone "),
            ("ünïcødé \u{1b}[2m✓\u{1b}[22m", "ünïcødé ✓"),
        ];
        for (text, want) in cases {
            assert_eq!(strip(text), want, "{text:?}");
        }
    }
}
