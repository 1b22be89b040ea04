//! Reader for numeric CSV files with one target column (scikit-learn's `iris.csv`,
//! `digits.csv`, …).
//!
//! Every field is a number; one column (chosen by [`Column`]) holds the target, the others
//! are the inputs in file order. Targets are read as integer class labels or as real values
//! ([`Options::labels`], [`Options::values`]). Lines at the top can be skipped (scikit-learn's
//! files start with a meta header line such as `150,4,setosa,versicolor,virginica`); blank
//! lines are ignored. There is no quoting: this is for numeric tables, not general CSV.
//! Lines end in `\n`, `\r\n` or a lone `\r`; a leading UTF-8 byte-order mark is skipped. Only
//! regular files of at most [`MAX_FILE_BYTES`] are read (not FIFOs or devices); [`read_from`]
//! reads from any [`Read`].
//!
//! Anything that cannot be read is an [`Error::Csv`] with its line and column (both counting
//! from 1, lines including skipped ones): a field that is not a finite number, a label that
//! is not a non-negative integer, a row with another number of fields than the first. A file
//! with no data rows is an [`Error::EmptyFile`].
//!
//! ```no_run
//! use axonal::data::csv::{self, Column, Options};
//!
//! // sklearn's iris.csv: a meta header line, 4 features, the class (0..=2) last.
//! let iris = csv::read::<f32>("iris.csv", Options::labels(Column::Last).skip(1))?;
//! assert_eq!(iris.input_width(), 4);
//! # Ok::<(), axonal::Error>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::data::{open_regular, read_at_most, Dataset, Targets};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::loss::TargetKind;

/// The largest CSV file the reader accepts: 1 GiB (it holds the whole text in memory).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Which column of the file holds the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// The first column.
    First,
    /// The last column (scikit-learn's files).
    Last,
    /// The column at this index, counting from 0.
    Index(usize),
}

/// How to read a CSV file: where the target is, what it is, how many lines to skip.
///
/// Built like [`crate::Fit`]: `Options::labels(Column::Last).skip(1)`. The default reads
/// class labels from the last column, skips nothing and splits on commas.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    target: Column,
    kind: TargetKind,
    skip: usize,
    delimiter: char,
}

impl Default for Options {
    fn default() -> Self {
        Self::labels(Column::Last)
    }
}

impl Options {
    /// Targets are integer class indices (`0`, `1`, … ; `2.0` is accepted as 2), in `column`.
    pub fn labels(column: Column) -> Self {
        Self {
            target: column,
            kind: TargetKind::Labels,
            skip: 0,
            delimiter: ',',
        }
    }

    /// Targets are real values (one column of targets, for regression), in `column`.
    pub fn values(column: Column) -> Self {
        Self {
            kind: TargetKind::Values,
            ..Self::labels(column)
        }
    }

    /// Skips the first `lines` lines (headers) of the file.
    pub fn skip(mut self, lines: usize) -> Self {
        self.skip = lines;
        self
    }

    /// Splits fields on `delimiter` instead of `,` (`;`, `\t`, …).
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Reads a numeric CSV file into a dataset: the target column (see [`Options`]) as targets,
/// every other column, in order, as inputs.
///
/// Errors: the file cannot be read, is not a regular file, is larger than
/// [`MAX_FILE_BYTES`] or is not UTF-8; it has no data rows; a row has fewer than
/// two fields, or another number of fields than the first data row; the target column does
/// not exist; a field is empty, not a number, or not finite (`nan`, `inf`); a label is not a
/// non-negative integer. Each names the line and column.
pub fn read<F: Float>(path: impl AsRef<Path>, options: Options) -> Result<Dataset<F>> {
    let path = path.as_ref();
    let hint = "Check the path (relative paths start from the working directory).";
    let (file, len) = open_regular(path, hint)?;
    if len > MAX_FILE_BYTES {
        return Err(too_large(path, Some(len)));
    }
    // `len` is at most MAX_FILE_BYTES (1 GiB): it fits in usize on 32-bit platforms too.
    let capacity = usize::try_from(len).unwrap_or(0);
    let bytes = read_at_most(file, MAX_FILE_BYTES, capacity)
        .map_err(|e| Error::io("read", path, &e))?
        .ok_or_else(|| too_large(path, None))?;
    parse_bytes(path, bytes, &options)
}

/// [`read`] from any reader (standard input, an archive entry, text in memory): the same
/// format, checks and limit, with errors naming the file `<reader>`.
///
/// ```
/// use axonal::data::csv::{self, Column, Options};
///
/// let data = csv::read_from::<f32>("1.5,2,0\n3,4.25,1\n".as_bytes(), Options::labels(Column::Last))?;
/// assert_eq!((data.len(), data.input_width()), (2, 2));
/// # Ok::<(), axonal::Error>(())
/// ```
pub fn read_from<F: Float>(reader: impl Read, options: Options) -> Result<Dataset<F>> {
    let path = Path::new("<reader>");
    let bytes = read_at_most(reader, MAX_FILE_BYTES, 0)
        .map_err(|e| Error::io("read", path, &e))?
        .ok_or_else(|| too_large(path, None))?;
    parse_bytes(path, bytes, &options)
}

/// The [`Error::FileTooLarge`] of a CSV file of `size` bytes (`None`: a stream that went on
/// past the limit).
fn too_large(path: &Path, size: Option<u64>) -> Error {
    Error::FileTooLarge {
        path: path.to_path_buf(),
        what: "the CSV reader".into(),
        size,
        limit: MAX_FILE_BYTES,
        hint: "The CSV reader holds the whole text in memory; split the data into smaller \
               files, or store it in a binary format.",
    }
}

/// Checks that `bytes` are UTF-8 text and parses them; a leading byte-order mark (which
/// spreadsheet programs write) is skipped.
fn parse_bytes<F: Float>(path: &Path, bytes: Vec<u8>, options: &Options) -> Result<Dataset<F>> {
    let text = String::from_utf8(bytes).map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        format: "CSV",
        message: format!("it is not UTF-8 text ({e})"),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse(path, text, options)
}

/// The lines of `text`, ended by `\n`, `\r\n` or a lone `\r` (old Mac files), without their
/// line endings.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(end) => {
                let after = if current[end..].starts_with("\r\n") {
                    end + 2
                } else {
                    end + 1
                };
                rest = Some(&current[after..]).filter(|r| !r.is_empty());
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Parses the text of a CSV file; `path` is for messages.
fn parse<F: Float>(path: &Path, text: &str, options: &Options) -> Result<Dataset<F>> {
    let err = |line: usize, column: usize, message: String| Error::Csv {
        path: PathBuf::from(path),
        line,
        column,
        message,
    };
    let mut inputs: Vec<F> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let mut values: Vec<F> = Vec::new();
    // (line of the first data row, its number of fields, the target's index)
    let mut shape: Option<(usize, usize, usize)> = None;

    let rows = lines(text).enumerate().skip(options.skip);
    for (line, fields) in rows.map(|(i, l)| (i + 1, l)) {
        if fields.trim().is_empty() {
            continue;
        }
        let n = fields.split(options.delimiter).count();
        let (first_line, width, target) = match shape {
            Some(s) => s,
            None => {
                if n < 2 {
                    return Err(err(line, 1, format!("a row needs at least two fields (inputs and a target), this one has {n}")));
                }
                let target = match options.target {
                    Column::First => 0,
                    Column::Last => n - 1,
                    Column::Index(i) if i < n => i,
                    Column::Index(i) => {
                        // As u128: `i + 1` overflows for Column::Index(usize::MAX).
                        let column = i as u128 + 1;
                        return Err(err(line, 1, format!("the target column is {column} (index {i}), but the row has only {n} fields")));
                    }
                };
                *shape.insert((line, n, target))
            }
        };
        if n != width {
            return Err(err(
                line,
                n.min(width) + 1,
                format!("the row has {n} fields, but the first data row (line {first_line}) has {width}"),
            ));
        }
        for (c, field) in fields.split(options.delimiter).enumerate() {
            let field = field.trim();
            let v = number(field).map_err(|m| err(line, c + 1, m))?;
            if c != target {
                inputs.push(F::from_f64(v));
            } else if options.kind == TargetKind::Values {
                values.push(F::from_f64(v));
            } else {
                labels.push(label(field, v).map_err(|m| err(line, c + 1, m))?);
            }
        }
    }

    let Some((_, width, _)) = shape else {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
            skipped: options.skip,
        });
    };
    let rows = inputs.len() / (width - 1);
    let x = Array2::from_shape_vec((rows, width - 1), inputs).expect("rows of equal width");
    let targets = match options.kind {
        TargetKind::Labels => Targets::Labels(labels),
        TargetKind::Values => {
            Targets::Values(Array2::from_shape_vec((rows, 1), values).expect("one per row"))
        }
    };
    Dataset::new(x, targets)
}

/// A field as a finite number, or what is wrong with it.
fn number(field: &str) -> std::result::Result<f64, String> {
    if field.is_empty() {
        return Err("the field is empty; a number was expected".into());
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("`{field}` is not a finite number")),
        Err(_) => Err(format!("`{field}` is not a number")),
    }
}

/// A label field (already parsed as `v`) as a class index, or what is wrong with it.
fn label(field: &str, v: f64) -> std::result::Result<usize, String> {
    // 2^53: beyond it not every integer is an f64; no real class count comes near.
    if v >= 0.0 && v.fract() == 0.0 && v < 9_007_199_254_740_992.0 {
        Ok(v as usize)
    } else {
        Err(format!(
            "`{field}` is not a class label: labels are integers 0, 1, 2, … \
             (use csv::Options::values for real-valued targets)"
        ))
    }
}
