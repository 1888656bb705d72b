//! Keeps the table cells the Markdown parser makes in proportion to the text. The parser
//! gives every row of a table as many cells as its header has, so a wide header over
//! many short rows multiplies the text (up to 262,144 cells per table, for every table);
//! it builds all of them before the first event. Tables past a budget of cells are left
//! as the text they were typed as.

use std::borrow::Cow;

/// One cell for every two bytes of text (what the shortest real cell, `|x`, takes),
/// beyond a first allowance for small documents with wide tables.
const BYTES_PER_CELL: usize = 2;
const FREE_CELLS: usize = 16_384;

/// `markdown` with the delimiter rows (`|---|---|`) of tables past the budget escaped,
/// so they read as text.
pub(super) fn bounded(markdown: &str) -> Cow<'_, str> {
    let mut left = FREE_CELLS + markdown.len() / BYTES_PER_CELL;
    let lines: Vec<&str> = markdown.split_inclusive('\n').collect();
    // For each line, the index of the first blank line at or after it.
    let mut next_blank = vec![lines.len(); lines.len() + 1];
    for index in (0..lines.len()).rev() {
        next_blank[index] = if is_blank(lines[index]) { index } else { next_blank[index + 1] };
    }
    let mut escaped: Vec<usize> = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut index = 0;
    while index < lines.len() {
        let trimmed = lines[index].trim_start();
        let run = |c: u8| trimmed.bytes().take_while(|b| *b == c).count();
        if let Some((c, len)) = fence {
            if run(c) >= len {
                fence = None;
            }
        } else if let Some(c) = [b'`', b'~'].into_iter().find(|c| run(*c) >= 3) {
            fence = Some((c, run(c)));
        } else if let Some(columns) = delimiter_row(lines[index]) {
            // Rows run to the next blank line (the parser may end the table sooner).
            let rows = next_blank[index + 1] - (index + 1);
            let cells = columns * (rows + 2);
            if cells <= left {
                left -= cells;
                index += 1 + rows;
                continue;
            }
            // Escaped, the lines below are read afresh: they may start tables of their own.
            escaped.push(index);
        }
        index += 1;
    }
    if escaped.is_empty() {
        return Cow::Borrowed(markdown);
    }
    let mut out = String::with_capacity(markdown.len() + escaped.len());
    for (index, line) in lines.iter().enumerate() {
        match (escaped.binary_search(&index), line.find('-')) {
            (Ok(_), Some(dash)) => {
                out.push_str(&line[..dash]);
                out.push('\\');
                out.push_str(&line[dash..]);
            }
            _ => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

/// The number of columns, if the line (inside any `>` quotes) is a table's delimiter row.
fn delimiter_row(line: &str) -> Option<usize> {
    let row = line.trim_start_matches(|c: char| c == '>' || c.is_whitespace()).trim_end();
    let well_formed =
        row.contains('|') && row.contains('-') && row.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'));
    well_formed.then(|| row.split('|').filter(|cell| cell.contains('-')).count())
}

fn is_blank(line: &str) -> bool {
    line.trim_start_matches(|c: char| c == '>' || c.is_whitespace()).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_tables_are_left_alone() {
        let text = "| ID | Text |\n|----|:----:|\n| A-1 | x |\n\n```\n|-|-|\n```\n> | a |\n> |---|\n";
        assert!(matches!(bounded(text), Cow::Borrowed(_)));
    }

    #[test]
    fn tables_past_the_budget_become_text() {
        let header = format!("{}\n{}\n", "| a ".repeat(300), "|---".repeat(300));
        let table = format!("{header}{}\n", "x\n".repeat(100));
        let text = table.repeat(40);
        let out = bounded(&text);
        let kept = out.lines().filter(|line| delimiter_row(line).is_some()).count();
        let cells = kept * 300 * 102;
        assert!(kept > 0 && kept < 40, "{kept} tables kept");
        assert!(cells <= FREE_CELLS + text.len() / BYTES_PER_CELL, "{cells} cells");
        assert_eq!(out.matches("\\-").count(), 40 - kept, "each table past the budget is escaped once");
    }
}
