//! Character classes for free text that reaches people: what is invisible or
//! can reorder or break what is shown.

/// Unicode format characters (general category Cf): invisible, and able to
/// make two different names look alike or reorder what is shown (bidi
/// embeddings, overrides and isolates U+202A–U+202E, U+2066–U+2069;
/// zero-width characters; the byte-order mark).
pub fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Characters that are not shown as themselves: control characters (CR,
/// LF, tab, NUL…), format characters ([`is_format`]), and the line and
/// paragraph separators U+2028 and U+2029.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_zero_width_and_line_breaks_are_hidden() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200b}', '\u{200e}', '\u{feff}', '\r', '\n', '\t', '\0',
            '\u{85}', '\u{2028}', '\u{2029}',
        ] {
            assert!(is_hidden(c), "{:?}", c);
        }
        for c in ['a', ' ', 'é', '日', '\u{a0}', '-', '@'] {
            assert!(!is_hidden(c), "{:?}", c);
        }
    }
}
