//! A spreadsheet saved as CSV, read the way every import reads one (projects, the register,
//! placements, trainings): UTF-8 with or without a BOM, a header row naming the columns in
//! Chinese or English in any order, then one row per line. Each problem carries the line of the
//! file it is on (the header is line 1), so an officer can find it in Excel.
//!
//! The reader finds the header's problems (a column unknown, given twice, or required and
//! missing), skips blank rows, and keeps the problems of rows it cannot read (a cell that is not
//! UTF-8); checking a row's values is the caller's, who hands back each row's
//! problems with `Sheet::take`, and `Sheet::finish` gives the rows or every problem in line
//! order. Nothing is written anywhere: the imports are all-or-nothing because of that.

use std::collections::HashMap;
use std::fmt;

/// A column: its Chinese and English names (in a header, a form, a JSON body), and whether a
/// file must have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub zh: &'static str,
    pub en: &'static str,
    pub required: bool,
}

impl Column {
    pub const fn required(zh: &'static str, en: &'static str) -> Column {
        Column {
            zh,
            en,
            required: true,
        }
    }

    pub const fn optional(zh: &'static str, en: &'static str) -> Column {
        Column {
            zh,
            en,
            required: false,
        }
    }
}

/// The column of a header (or field) name among `columns`: Chinese, or English in any case.
pub fn column_of(columns: &[Column], name: &str) -> Option<usize> {
    let name = name.trim_start_matches('\u{FEFF}').trim();
    columns
        .iter()
        .position(|c| c.zh == name || c.en.eq_ignore_ascii_case(name))
}

/// A problem with one line of an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Where each column sits in a row, and the name the file gives it (for messages).
#[derive(Debug)]
pub struct Header {
    index: Vec<Option<usize>>,
    names: Vec<String>,
    width: usize,
}

impl Header {
    /// The header of a file without one: it has none of the columns.
    fn none(columns: &[Column]) -> Header {
        Header {
            index: vec![None; columns.len()],
            names: columns
                .iter()
                .map(|c| format!("{} ({})", c.zh, c.en))
                .collect(),
            width: 0,
        }
    }

    /// Reads a header row: every required column once, no column twice, nothing unknown.
    /// Cells with an empty name (a spreadsheet's leftovers) are ignored.
    pub fn parse(columns: &[Column], cells: &[&str]) -> Result<Header, Vec<String>> {
        // A column the file does not have is named both ways.
        let mut header = Header {
            width: cells.len(),
            ..Header::none(columns)
        };
        let mut problems = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let name = cell.trim_start_matches('\u{FEFF}').trim();
            if name.is_empty() {
                continue;
            }
            match column_of(columns, name) {
                None => problems.push(format!(
                    "unknown column \"{name}\"; the columns are {}",
                    columns
                        .iter()
                        .map(|c| format!("{}/{}", c.zh, c.en))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(c) if header.index[c].is_some() => problems.push(format!(
                    "columns \"{}\" and \"{name}\" are the same column",
                    header.names[c]
                )),
                Some(c) => {
                    header.index[c] = Some(i);
                    header.names[c] = name.to_string();
                }
            }
        }
        for (c, column) in columns.iter().enumerate() {
            if column.required && header.index[c].is_none() {
                problems.push(format!("no column {} ({})", column.zh, column.en));
            }
        }
        if problems.is_empty() {
            Ok(header)
        } else {
            Err(problems)
        }
    }

    /// Whether the file has column `c`.
    pub fn has(&self, c: usize) -> bool {
        self.index[c].is_some()
    }

    /// Column `c` as the file names it (`电话`, `Phone`); `电话 (phone)` when it has no such
    /// column.
    pub fn name(&self, c: usize) -> &str {
        &self.names[c]
    }

    /// Column `c`'s cell in a row, trimmed; None when the file has no such column, empty when
    /// the row is short.
    pub fn get<'r, S: AsRef<str>>(&self, cells: &'r [S], c: usize) -> Option<&'r str> {
        self.index[c].map(|i| cells.get(i).map_or("", |v| v.as_ref().trim()))
    }

    /// As `get`, empty when the file has no such column.
    pub fn value<'r, S: AsRef<str>>(&self, cells: &'r [S], c: usize) -> &'r str {
        self.get(cells, c).unwrap_or("")
    }

    /// The problem of a row with values past the header's last column: a value with an
    /// unquoted comma has shifted every cell after it. Empty cells there are a spreadsheet's
    /// leftovers, not a problem.
    pub fn extra_values<S: AsRef<str>>(&self, cells: &[S]) -> Option<String> {
        cells
            .iter()
            .skip(self.width)
            .any(|f| !f.as_ref().trim().is_empty())
            .then(|| {
                format!(
                    "{} values but the header has {} columns (a value with a comma needs quotes)",
                    cells.len(),
                    self.width
                )
            })
    }
}

/// A row with at least one value: the line it starts on, and its cells as the file has them.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// An import file being read, row by row.
pub struct Sheet<'a> {
    bytes: &'a [u8],
    records: csv::ByteRecordsIntoIter<&'a [u8]>,
    header: Header,
    problems: Vec<Problem>,
}

impl<'a> Sheet<'a> {
    /// Opens a file and reads its header; a file without a usable header is every problem of
    /// that header (on its line).
    pub fn open(bytes: &'a [u8], columns: &[Column]) -> Result<Sheet<'a>, Vec<Problem>> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut records = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .into_byte_records();
        let problem = |line, message: String| Problem { line, message };
        let header = match records.next() {
            // Nothing to import is not an error: an empty file (or one of blank lines) has no
            // rows, as a file with only its header has none.
            None => {
                return Ok(Sheet {
                    bytes,
                    records,
                    header: Header::none(columns),
                    problems: Vec::new(),
                })
            }
            Some(Err(e)) => return Err(vec![problem(1, e.to_string())]),
            Some(Ok(r)) => r,
        };
        let line = header.position().map_or(1, |p| start_line(bytes, p));
        let cells = utf8_fields(&header).map_err(|m| vec![problem(line, m)])?;
        let header = Header::parse(columns, &cells)
            .map_err(|ms| ms.into_iter().map(|m| problem(line, m)).collect::<Vec<_>>())?;
        Ok(Sheet {
            bytes,
            records,
            header,
            problems: Vec::new(),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next row with a value. Rows of bare commas (a spreadsheet leaves them behind) are
    /// skipped; a row that cannot be read is a problem, kept for `finish`, and skipped.
    pub fn next_row(&mut self) -> Option<Row> {
        loop {
            let record = match self.records.next()? {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    self.problem(line, e.to_string());
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| start_line(self.bytes, p));
            let cells = match utf8_fields(&record) {
                Ok(f) => f,
                Err(m) => {
                    self.problem(line, m);
                    continue;
                }
            };
            if cells.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let cells = cells.into_iter().map(String::from).collect();
            return Some(Row { line, cells });
        }
    }

    /// A problem on `line` (one the caller found beyond the row's own checks).
    pub fn problem(&mut self, line: u64, message: String) {
        self.problems.push(Problem { line, message });
    }

    /// A checked row: its value, or its problems kept for `finish`.
    pub fn take<T>(&mut self, line: u64, checked: Result<T, Vec<String>>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(ms) => {
                for m in ms {
                    self.problem(line, m);
                }
                None
            }
        }
    }

    /// What the whole file gave, or every problem found, in line order.
    pub fn finish<T>(mut self, rows: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            return Ok(rows);
        }
        // Stable: a line's problems stay in the order its checks found them.
        self.problems.sort_by_key(|p| p.line);
        Err(self.problems)
    }
}

/// The first line each key was on, to name both lines of something a file gives twice.
#[derive(Debug, Default)]
pub struct FirstLines(HashMap<String, u64>);

impl FirstLines {
    /// Fine the first time `key` is seen; after that, "`what` appears twice (also line N)".
    pub fn once(
        &mut self,
        key: String,
        line: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), String> {
        match self.0.get(&key) {
            Some(first) => Err(format!("{} appears twice (also line {first})", what())),
            None => {
                self.0.insert(key, line);
                Ok(())
            }
        }
    }
}

/// The line a record starts on. csv positions a record where reading it began, which is before
/// any blank lines it skipped on the way.
fn start_line(bytes: &[u8], pos: &csv::Position) -> u64 {
    let skipped = bytes
        .get(pos.byte() as usize..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .filter(|&&b| b == b'\n')
        .count();
    pos.line() + skipped as u64
}

fn utf8_fields(record: &csv::ByteRecord) -> Result<Vec<&str>, String> {
    record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<_, _>>()
        .map_err(|_| {
            "not UTF-8 text: save the file as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8)".into()
        })
}

/// A date as officers' spreadsheets write it: `2026-03-01`, or as Excel saves one on a
/// Chinese Windows (`2026/3/1`), or `2026.3.1`, `2026年3月1日`.
pub fn parse_date(raw: &str) -> Option<chrono::NaiveDate> {
    let raw = raw.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(raw, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 3] = [
        Column::required("电话", "phone"),
        Column::optional("姓名", "name"),
        Column::required("开始日期", "start_on"),
    ];

    /// Each row's line and its cells by column (None: no such column).
    type Cells = Vec<(u64, Vec<Option<String>>)>;

    fn read(csv: &str) -> Result<Cells, Vec<String>> {
        let messages = |ps: Vec<Problem>| ps.iter().map(ToString::to_string).collect::<Vec<_>>();
        let mut sheet = Sheet::open(csv.as_bytes(), &COLUMNS).map_err(messages)?;
        let mut rows = Vec::new();
        while let Some(r) = sheet.next_row() {
            let h = sheet.header();
            let checked = match h.extra_values(&r.cells) {
                Some(m) => Err(vec![m]),
                None => Ok((
                    r.line,
                    (0..COLUMNS.len())
                        .map(|c| h.get(&r.cells, c).map(String::from))
                        .collect(),
                )),
            };
            rows.extend(sheet.take(r.line, checked));
        }
        sheet.finish(rows).map_err(messages)
    }

    #[test]
    fn columns_by_either_name_in_any_order_with_a_bom() {
        let rows = read("\u{FEFF}Start_On, 电话 \n2026-03-01, 13900000001 \n").unwrap();
        assert_eq!(
            rows,
            [(
                2,
                vec![Some("13900000001".into()), None, Some("2026-03-01".into())]
            )]
        );
    }

    #[test]
    fn a_header_with_strangers_twins_or_gaps_says_each() {
        assert_eq!(
            read("电话,phone,备注,\nx,y,z\n").unwrap_err(),
            [
                "line 1: columns \"电话\" and \"phone\" are the same column",
                "line 1: unknown column \"备注\"; the columns are 电话/phone, 姓名/name, 开始日期/start_on",
                "line 1: no column 开始日期 (start_on)",
            ]
        );
    }

    /// An empty file, or one with only its header, has no rows: nothing to import, and no
    /// problem either (issue 13, defect 5).
    #[test]
    fn an_empty_file_or_a_header_alone_has_no_rows() {
        for csv in [
            "",
            "\n\n",
            "\u{FEFF}",
            "电话,开始日期\n",
            "电话,开始日期\n,\n\n",
        ] {
            assert_eq!(read(csv), Ok(vec![]), "{csv:?}");
        }
    }

    #[test]
    fn blank_rows_are_skipped_and_problems_come_in_line_order() {
        let csv = "电话,开始日期\n\n,\n1,2,3\n,,\n4,5\n";
        let e = read(csv).unwrap_err();
        assert_eq!(
            e[0],
            "line 4: 3 values but the header has 2 columns (a value with a comma needs quotes)"
        );
        assert_eq!(e.len(), 1, "{e:?}");
        let bad: &[u8] = b"\xe7\x94\xb5\xe8\xaf\x9d,start_on\n\xb4\xfa,x\n1,2,3\n";
        let mut sheet = Sheet::open(bad, &COLUMNS).unwrap();
        while let Some(r) = sheet.next_row() {
            let m = sheet.header().extra_values(&r.cells);
            sheet.take::<()>(r.line, Err(m.into_iter().collect()));
        }
        let e = sheet.finish(()).unwrap_err();
        assert_eq!(e.iter().map(|p| p.line).collect::<Vec<_>>(), [2, 3]);
        assert!(e[0].message.starts_with("not UTF-8"), "{e:?}");
    }

    #[test]
    fn a_missing_column_is_named_both_ways() {
        let h = Header::parse(&COLUMNS, &["phone", "start_on"]).unwrap();
        assert_eq!(h.name(0), "phone");
        assert_eq!(h.name(1), "姓名 (name)");
        assert!(!h.has(1));
        assert_eq!(h.get(&["1"], 2), Some(""));
    }

    #[test]
    fn a_key_twice_names_the_first_line() {
        let mut seen = FirstLines::default();
        assert!(seen.once("a".into(), 2, || "x".into()).is_ok());
        assert!(seen.once("b".into(), 3, || "y".into()).is_ok());
        assert_eq!(
            seen.once("a".into(), 5, || "电话 \"a\"".into())
                .unwrap_err(),
            "电话 \"a\" appears twice (also line 2)"
        );
    }

    #[test]
    fn dates_as_spreadsheets_write_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1);
        for s in [
            "2026-03-01",
            "2026/3/1",
            "2026-3-1",
            " 2026.03.01 ",
            "2026年3月1日",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        for s in ["", "1/3/2026", "2026-02-30", "明天", "20260301"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
