//! Printing results: aligned tables and labelled fields for people, JSON for scripts.

use std::io::Write;

use serde_json::Value;

use crate::cli::Output;
use crate::error::Failure;

/// Where results go, in the form asked for.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Printer {
    pub(crate) output: Output,
}

impl Printer {
    /// Whether results are JSON.
    pub(crate) fn is_json(self) -> bool {
        self.output == Output::Json
    }

    /// Prints `text` and a newline.
    pub(crate) fn line(self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}").and_then(|()| stdout.flush()).map_err(Failure::stdout)
    }

    /// Prints `value` as pretty JSON.
    pub(crate) fn json(self, value: &Value) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(value).map_err(Failure::error)?;
        self.line(&text)
    }

    /// Prints rows under headers, in aligned columns.
    pub(crate) fn table(self, headers: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let render = |cells: &mut dyn Iterator<Item = &str>| {
            let mut line = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i + 1 == widths.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            line.trim_end().to_owned()
        };
        self.line(&render(&mut headers.iter().copied()))?;
        for row in rows {
            self.line(&render(&mut row.iter().map(String::as_str)))?;
        }
        Ok(())
    }

    /// Prints labelled fields, one a line, the values aligned.
    pub(crate) fn fields(self, fields: &[(&str, String)]) -> Result<(), Failure> {
        let width = fields.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 1;
        for (label, value) in fields {
            self.line(&format!("{:<width$} {value}", format!("{label}:")))?;
        }
        Ok(())
    }
}
