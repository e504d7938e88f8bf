//! The log's output: one line per event, whatever the event's fields hold. A value that
//! comes from outside (a login name, a path, a provider's parameter) may carry line
//! breaks or terminal escapes; written raw, it could forge a line (`INFO logged in
//! agent=…`) or rewrite the operator's screen. Every control character is escaped on its
//! way out (`\n`, `\r`, `\t`, `\u{1b}`), whichever field it is in and whoever wrote the
//! call, so no call site has to remember it.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Makes writers that escape what they are given ([`escape`]) and pass it to `W`.
#[derive(Debug, Clone, Copy)]
pub struct Escaping<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Escaping<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// A writer that escapes each buffer it is given, but for the event's final newline.
#[derive(Debug)]
pub struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(escape(&String::from_utf8_lossy(buf)).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `text` with every control character (C0, DEL, C1, and the Unicode line and paragraph
/// separators) escaped, but for one newline at its very end.
#[must_use]
pub fn escape(text: &str) -> String {
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    if !body.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in body.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push_str(end);
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_and_the_final_newline_kept() {
        assert_eq!(escape("plain line\n"), "plain line\n");
        assert_eq!(
            escape("WARN failed login login=x\nINFO logged in agent=admin\n"),
            "WARN failed login login=x\\nINFO logged in agent=admin\n"
        );
        assert_eq!(escape("a\r\u{1b}[2Jb\u{9b}c\u{2028}"), "a\\r\\u{1b}[2Jb\\u{9b}c\\u{2028}");
        assert_eq!(escape("café\ttab\n"), "café\\ttab\n");
    }
}
