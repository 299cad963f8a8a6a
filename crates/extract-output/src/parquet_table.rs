//! One OMOP table written as a Parquet file from its intermediate row file
//! (one JSON array per line, as [`crate::Writers`] appends them), a row
//! group at a time: memory holds at most [`ROW_GROUP_ROWS`] rows.
//!
//! The low-level column writers are enough for a few flat schemas, so the
//! `parquet` crate is used without arrow. The file is deterministic: a
//! fixed `created_by`, no timestamps, Snappy pages.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::Value;

use crate::omop::{Column, ColumnType, Table};

/// Rows per row group: bounds the memory a table's writing takes.
pub const ROW_GROUP_ROWS: usize = 32 * 1024;

/// The `created_by` every file carries: the same for the same build.
pub const CREATED_BY: &str = concat!("icr-extract-output ", env!("CARGO_PKG_VERSION"));

/// The Parquet message type of a table.
pub fn schema(table: Table) -> String {
    let mut s = format!("message {} {{\n", table.name());
    for c in table.columns() {
        let rep = if c.required { "required" } else { "optional" };
        let ty = match c.ty {
            ColumnType::Int64 => "int64",
            ColumnType::Int32 => "int32",
            ColumnType::Date => "int32",
            ColumnType::Timestamp => "int64",
            ColumnType::Float64 => "double",
            ColumnType::Text => "binary",
        };
        let logical = match c.ty {
            ColumnType::Date => " (DATE)",
            ColumnType::Timestamp => " (TIMESTAMP(MICROS,true))",
            ColumnType::Text => " (STRING)",
            _ => "",
        };
        s.push_str(&format!("  {rep} {ty} {}{logical};\n", c.name));
    }
    s.push('}');
    s
}

fn pq(context: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{context}: {e}"))
}

fn bad_row(rows: &Path, line: u64, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} line {line}: {why}", rows.display()),
    )
}

/// One column's values and definition levels for the current row group.
enum Buffer {
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Float(Vec<f64>),
    Text(Vec<ByteArray>),
}

struct ColumnBuf {
    column: Column,
    values: Buffer,
    defs: Vec<i16>,
}

impl ColumnBuf {
    fn new(column: Column) -> Self {
        let values = match column.ty {
            ColumnType::Int64 | ColumnType::Timestamp => Buffer::Int64(Vec::new()),
            ColumnType::Int32 | ColumnType::Date => Buffer::Int32(Vec::new()),
            ColumnType::Float64 => Buffer::Float(Vec::new()),
            ColumnType::Text => Buffer::Text(Vec::new()),
        };
        Self {
            column,
            values,
            defs: Vec::new(),
        }
    }

    /// Adds one cell; `Err` names what is wrong with it.
    fn push(&mut self, v: &Value) -> Result<(), String> {
        let present = match (&mut self.values, v) {
            (_, Value::Null) => false,
            (Buffer::Int64(b), v) => {
                b.push(v.as_i64().ok_or("not an int64")?);
                true
            }
            (Buffer::Int32(b), v) => {
                let n = v.as_i64().ok_or("not an integer")?;
                b.push(i32::try_from(n).map_err(|_| "out of int32 range")?);
                true
            }
            (Buffer::Float(b), v) => {
                b.push(v.as_f64().ok_or("not a number")?);
                true
            }
            (Buffer::Text(b), Value::String(s)) => {
                b.push(ByteArray::from(s.as_bytes().to_vec()));
                true
            }
            (Buffer::Text(_), _) => return Err("not text".into()),
        };
        if !present && self.column.required {
            return Err(format!("{} is required", self.column.name));
        }
        self.defs.push(i16::from(present));
        Ok(())
    }

    fn clear(&mut self) {
        self.defs.clear();
        match &mut self.values {
            Buffer::Int64(b) => b.clear(),
            Buffer::Int32(b) => b.clear(),
            Buffer::Float(b) => b.clear(),
            Buffer::Text(b) => b.clear(),
        }
    }

    fn write(&self, w: &mut ColumnWriter<'_>) -> parquet::errors::Result<()> {
        let defs = (!self.column.required).then_some(self.defs.as_slice());
        match (w, &self.values) {
            (ColumnWriter::Int64ColumnWriter(w), Buffer::Int64(b)) => w.write_batch(b, defs, None),
            (ColumnWriter::Int32ColumnWriter(w), Buffer::Int32(b)) => w.write_batch(b, defs, None),
            (ColumnWriter::DoubleColumnWriter(w), Buffer::Float(b)) => w.write_batch(b, defs, None),
            (ColumnWriter::ByteArrayColumnWriter(w), Buffer::Text(b)) => {
                w.write_batch(b, defs, None)
            }
            _ => Err(parquet::errors::ParquetError::General(format!(
                "column {} has another type in the schema",
                self.column.name
            ))),
        }
        .map(|_| ())
    }
}

/// Writes `table` to `out` from the row file `rows`; returns the number of
/// rows written.
pub fn write(table: Table, rows: &Path, out: &Path) -> io::Result<u64> {
    write_in_groups(table, rows, out, ROW_GROUP_ROWS)
}

/// [`write`], with row groups of at most `group_rows` rows.
fn write_in_groups(table: Table, rows: &Path, out: &Path, group_rows: usize) -> io::Result<u64> {
    let context = format!("writing {}", out.display());
    let schema = Arc::new(parse_message_type(&schema(table)).map_err(|e| pq(&context, e))?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_created_by(CREATED_BY.to_string())
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file = File::create(out)?;
    let mut writer = SerializedFileWriter::new(file, schema, props).map_err(|e| pq(&context, e))?;
    let mut buffers: Vec<ColumnBuf> = table
        .columns()
        .iter()
        .copied()
        .map(ColumnBuf::new)
        .collect();
    let mut in_group = 0usize;
    let mut total = 0u64;
    let flush =
        |buffers: &mut Vec<ColumnBuf>, writer: &mut SerializedFileWriter<File>| -> io::Result<()> {
            let mut group = writer.next_row_group().map_err(|e| pq(&context, e))?;
            let mut i = 0;
            while let Some(mut col) = group.next_column().map_err(|e| pq(&context, e))? {
                let buf = buffers
                    .get(i)
                    .ok_or_else(|| pq(&context, "more columns than the table has"))?;
                buf.write(col.untyped()).map_err(|e| pq(&context, e))?;
                col.close().map_err(|e| pq(&context, e))?;
                i += 1;
            }
            group.close().map_err(|e| pq(&context, e))?;
            buffers.iter_mut().for_each(ColumnBuf::clear);
            Ok(())
        };
    let reader = BufReader::new(File::open(rows)?);
    for (n, line) in reader.lines().enumerate() {
        let line_no = n as u64 + 1;
        let line = line?;
        let cells: Vec<Value> =
            serde_json::from_str(&line).map_err(|e| bad_row(rows, line_no, &e.to_string()))?;
        if cells.len() != buffers.len() {
            return Err(bad_row(rows, line_no, "wrong number of cells"));
        }
        for (b, v) in buffers.iter_mut().zip(&cells) {
            b.push(v).map_err(|why| bad_row(rows, line_no, &why))?;
        }
        in_group += 1;
        total += 1;
        if in_group >= group_rows {
            flush(&mut buffers, &mut writer)?;
            in_group = 0;
        }
    }
    if in_group > 0 {
        flush(&mut buffers, &mut writer)?;
    }
    writer.finish().map_err(|e| pq(&context, e))?;
    writer.inner().sync_all()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "icr-extract-output-pq-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A person row of the row file: id, then nulls but the concept ids.
    fn person_line(id: i64) -> String {
        let mut cells = vec![Value::Null; Table::Person.columns().len()];
        cells[0] = id.into();
        for i in [1, 6, 7] {
            cells[i] = 0.into();
        }
        cells[2] = (1950 + id).into();
        cells[11] = format!("p{id}").into();
        serde_json::to_string(&cells).unwrap()
    }

    #[test]
    fn rows_are_written_a_bounded_group_at_a_time_and_read_back() {
        let dir = temp("groups");
        let rows = dir.join("person.rows");
        let lines: Vec<String> = (1..=7).map(person_line).collect();
        std::fs::write(&rows, lines.join("\n") + "\n").unwrap();
        let out = dir.join("person.parquet");
        assert_eq!(write_in_groups(Table::Person, &rows, &out, 3).unwrap(), 7);

        let reader = SerializedFileReader::new(File::open(&out).unwrap()).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.file_metadata().created_by(), Some(CREATED_BY));
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![3, 3, 1]);
        let read: Vec<(i64, i32, String)> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (
                    r.get_long(0).unwrap(),
                    r.get_int(2).unwrap(),
                    r.get_string(11).unwrap().clone(),
                )
            })
            .collect();
        assert_eq!(read[0], (1, 1951, "p1".to_string()));
        assert_eq!(read[6], (7, 1957, "p7".to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_row_file_is_an_error_naming_its_line() {
        let dir = temp("damaged");
        let rows = dir.join("person.rows");
        std::fs::write(&rows, person_line(1) + "\n[1,2]\n").unwrap();
        let err = write(Table::Person, &rows, &dir.join("p.parquet")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().ends_with("line 2: wrong number of cells"),
            "{err}"
        );
        // a required value missing
        let mut no_id: Vec<Value> = serde_json::from_str(&person_line(1)).unwrap();
        no_id[0] = Value::Null;
        std::fs::write(&rows, serde_json::to_string(&no_id).unwrap()).unwrap();
        let err = write(Table::Person, &rows, &dir.join("p.parquet")).unwrap_err();
        assert!(
            err.to_string().ends_with("line 1: person_id is required"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_schema_is_omops_names_and_types() {
        let s = schema(Table::ConditionOccurrence);
        assert!(s.starts_with(
            "message condition_occurrence {\n  required int64 condition_occurrence_id;\n"
        ));
        assert!(s.contains("  required int32 condition_start_date (DATE);\n"));
        assert!(
            s.contains("  optional int64 condition_start_datetime (TIMESTAMP(MICROS,true));\n")
        );
        assert!(s.contains("  optional binary condition_source_value (STRING);\n"));
    }
}
