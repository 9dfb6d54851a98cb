//! The fast reading of an index file, the load every command starts with: the file is read in
//! blocks, each block is cut at record boundaries into chunks that all threads parse at once,
//! and the chunks' records are appended in file order. Memory is one block, not the file.
//!
//! A record boundary is a newline outside quotes. Quotes are counted from the start of each
//! block (always a boundary), and that count's parity is the CSV reader's own state as long as
//! every opening quote starts a field, which is how `csv` writes (paths or messages with
//! commas, quotes or newlines). A block where some quote does not (a hand-edited file), or any
//! row that does not read, makes [`read`] give up: the caller then runs the serial reader,
//! which gives the same records or the exact error it always gave.

use std::io::Read;

use anyhow::{Context, Result};

use rayon::prelude::*;

use crate::base::intern::NameCache;
use crate::index::Record;
use crate::index::columns::Schema;

/// Bytes read per block: big enough that a block's chunks keep every thread busy, small
/// enough to be no memory next to a million records.
pub(crate) const BLOCK: usize = 2 << 20;

/// Reads a whole index from `r` in blocks of `block` bytes; `None` when the serial reader
/// must do it (see the module doc). `rows` pre-sizes the result (the sidecar's row count), so
/// no growth slack survives; without it the result is shrunk to fit.
pub(crate) fn read<R: Read>(
    r: R,
    block: usize,
    rows: Option<usize>,
) -> Option<(Vec<Record>, Schema)> {
    let mut out = Vec::with_capacity(rows.unwrap_or(0));
    let schema = read_with(r, block, |mut part, _| {
        out.append(&mut part);
        true
    })?;
    out.shrink_to_fit();
    Some((out, schema))
}

/// Reads a whole index from `r` in blocks of `block` bytes, handing each parsed run of
/// records to `sink` in file order as soon as it is read (so a caller that keeps only some
/// never holds them all); the schema at the end. `None` when the serial reader must do it
/// (see the module doc) or when `sink` said stop (returned `false`): the records handed over
/// until then were the file's first, and are all there will be.
pub(crate) fn read_with<R: Read>(
    mut r: R,
    block: usize,
    mut sink: impl FnMut(Vec<Record>, &Schema) -> bool + Send,
) -> Option<Schema> {
    let mut buf: Vec<u8> = Vec::with_capacity(block + block / 2);
    let mut schema: Option<Schema> = None;
    let mut quotes = Vec::new();
    let mut want = block;
    // The previous block's records, handed to `sink` while this block is parsed: the
    // caller's work on them (a rescan's pairing, serial) overlaps the parse (parallel), 0.2 s
    // of a million-record rescan.
    let mut pending: Vec<Vec<Record>> = Vec::new();
    loop {
        let eof = fill(&mut r, &mut buf, want)?;
        quotes.clear();
        quotes.extend(memchr::memchr_iter(b'"', &buf));
        if !quotes_open_fields(&buf, &quotes) {
            return None;
        }
        let end = if eof {
            buf.len()
        } else {
            match last_boundary(&buf, &quotes) {
                Some(end) => end,
                // One record longer than the block: read more before cutting.
                None => {
                    want = buf.len() * 2;
                    continue;
                }
            }
        };
        let start = match schema {
            Some(_) => 0,
            None => {
                let h = next_boundary(&buf[..end], 0, &quotes).unwrap_or(end);
                schema = Some(header(&buf[..h])?);
                h
            }
        };
        let known = schema.as_ref()?;
        let (parsed, handed) = rayon::join(
            || parse(&buf[..end], start, &quotes, known),
            || hand_over(std::mem::take(&mut pending), known, &mut sink),
        );
        if !handed {
            return None;
        }
        pending = parsed?;
        buf.drain(..end);
        if eof {
            break;
        }
        want = block;
    }
    hand_over(pending, schema.as_ref()?, &mut sink).then_some(())?;
    schema
}

/// Gives `parts` to `sink` in order; `false` when it said stop.
fn hand_over(
    parts: Vec<Vec<Record>>,
    schema: &Schema,
    sink: &mut impl FnMut(Vec<Record>, &Schema) -> bool,
) -> bool {
    parts.into_iter().all(|part| sink(part, schema))
}

/// The serial reader: any input, a malformed row reported with its line.
pub(crate) fn serial<R: Read>(r: R) -> Result<(Vec<Record>, Schema)> {
    let mut rdr = builder().has_headers(true).from_reader(r);
    let header = rdr.byte_headers()?.clone();
    let schema = Schema::of_header(&header.iter().collect::<Vec<_>>())?;
    let (mut out, mut rec, mut names) = (Vec::new(), csv::ByteRecord::new(), NameCache::default());
    while rdr.read_byte_record(&mut rec)? {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        out.push(
            schema
                .read_row_with(&rec, &mut names)
                .with_context(|| format!("index line {line}"))?,
        );
    }
    out.shrink_to_fit();
    Ok((out, schema))
}

/// Reads from `r` until `buf` holds `want` bytes; `Some(true)` at the end of the input,
/// `None` on a read error (the serial reader reports it).
fn fill<R: Read>(r: &mut R, buf: &mut Vec<u8>, want: usize) -> Option<bool> {
    let need = want.saturating_sub(buf.len());
    let got = r.by_ref().take(need as u64).read_to_end(buf).ok()?;
    Some(got < need)
}

/// Does every quote that opens a quoted field (an even one, counting from the block's start)
/// stand at the start of a field, or right after a closing quote (an escaped `""`)?
fn quotes_open_fields(buf: &[u8], quotes: &[usize]) -> bool {
    quotes.iter().enumerate().step_by(2).all(|(i, &q)| {
        q == 0 || matches!(buf[q - 1], b',' | b'\n' | b'\r') || (i > 0 && quotes[i - 1] == q - 1)
    })
}

/// Is byte `at` outside quotes?
fn outside(quotes: &[usize], at: usize) -> bool {
    quotes.partition_point(|&q| q < at) % 2 == 0
}

/// The start of the first record that begins after `from` (just past a newline outside
/// quotes), if `buf` has one.
fn next_boundary(buf: &[u8], from: usize, quotes: &[usize]) -> Option<usize> {
    let mut at = from;
    loop {
        let nl = at + memchr::memchr(b'\n', &buf[at..])?;
        if outside(quotes, nl) {
            return Some(nl + 1);
        }
        at = nl + 1;
    }
}

/// The end of the last whole record in `buf` (just past its newline), if any.
fn last_boundary(buf: &[u8], quotes: &[usize]) -> Option<usize> {
    let mut end = buf.len();
    loop {
        let nl = memchr::memrchr(b'\n', &buf[..end])?;
        if outside(quotes, nl) {
            return Some(nl + 1);
        }
        end = nl;
    }
}

fn builder() -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.flexible(true);
    b
}

/// The schema of the header line `bytes`.
fn header(bytes: &[u8]) -> Option<Schema> {
    let mut rdr = builder().has_headers(true).from_reader(bytes);
    let names = rdr.byte_headers().ok()?;
    Schema::of_header(&names.iter().collect::<Vec<_>>()).ok()
}

/// Parses `buf[start..]` (whole records) on all threads, in runs in file order; `None` when
/// a row does not read.
fn parse(buf: &[u8], start: usize, quotes: &[usize], schema: &Schema) -> Option<Vec<Vec<Record>>> {
    let chunks = (rayon::current_num_threads() * 2).max(1);
    let step = ((buf.len() - start) / chunks).max(1);
    let mut cuts = vec![start];
    loop {
        let from = cuts[cuts.len() - 1] + step;
        match next_boundary(buf, from.min(buf.len()), quotes) {
            Some(cut) if from < buf.len() && cut < buf.len() => cuts.push(cut),
            _ => break,
        }
    }
    cuts.push(buf.len());
    (0..cuts.len() - 1)
        .into_par_iter()
        .map(|i| {
            let (from, to) = (cuts[i], cuts[i + 1]);
            let quoted =
                quotes.partition_point(|&q| q < from) < quotes.partition_point(|&q| q < to);
            match quoted || memchr::memchr(b'\r', &buf[from..to]).is_some() {
                true => parse_chunk(&buf[from..to], schema),
                false => parse_plain(&buf[from..to], schema),
            }
        })
        .collect()
}

/// Parses one chunk of whole records without quotes or carriage returns (nearly every chunk):
/// then a record is a non-empty line and a field what lies between commas, as for `csv`,
/// and the fields are read in place. `None` when a row does not read.
fn parse_plain(bytes: &[u8], schema: &Schema) -> Option<Vec<Record>> {
    let (mut names, mut v, mut ends) = (NameCache::default(), Vec::new(), Vec::new());
    let mut start = 0;
    // One pass over the chunk finds every field's end: a comma, a newline or the chunk's end.
    let marks = memchr::memchr2_iter(b',', b'\n', bytes).chain(std::iter::once(bytes.len()));
    for at in marks {
        ends.push(at);
        if at < bytes.len() && bytes[at] == b',' {
            continue;
        }
        let line = start;
        start = at + 1;
        if at == line {
            ends.clear();
            continue;
        }
        let field = |i: usize| match i {
            0 => &bytes[line..ends[0]],
            _ => &bytes[ends[i - 1] + 1..ends[i]],
        };
        v.push(schema.read_fields(ends.len(), field, &mut names).ok()?);
        ends.clear();
    }
    Some(v)
}

/// Parses one chunk of whole records with the CSV reader; `None` when a row does not read.
fn parse_chunk(bytes: &[u8], schema: &Schema) -> Option<Vec<Record>> {
    let mut rdr = builder()
        .has_headers(false)
        .buffer_capacity(bytes.len().clamp(1, 1 << 16))
        .from_reader(bytes);
    let (mut rec, mut names, mut v) = (csv::ByteRecord::new(), NameCache::default(), Vec::new());
    while rdr.read_byte_record(&mut rec).ok()? {
        v.push(schema.read_row_with(&rec, &mut names).ok()?);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::columns;

    /// The serial reader's answer for `text`: its records, or `None` for an error.
    fn serial(text: &[u8]) -> Option<Vec<Record>> {
        super::serial(text).ok().map(|(r, _)| r)
    }

    fn header_line() -> String {
        columns::header().collect::<Vec<_>>().join(",") + "\n"
    }

    /// A row whose path field is `raw` as is (not quoted by a writer), the rest valid.
    fn row(raw: &str, n: usize) -> String {
        let mut r = columns::blank();
        r.path = "x".into();
        (r.split, r.class, r.size) = ("train".into(), "cats".into(), n as u64);
        let (mut row, mut field) = (csv::ByteRecord::new(), Vec::new());
        columns::write_row(&r, &mut row, &mut field);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_byte_record(&row).unwrap();
        let line = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let rest = line.trim_end().strip_prefix('x').unwrap();
        format!("{raw}{rest}\n")
    }

    #[test]
    fn blocks_and_chunks_give_the_serial_records() {
        let mut text = header_line();
        let names = [
            "a.jpg",
            "\"a,b.jpg\"",
            "\"new\nline\"",
            "\"q\"\"uote\"",
            "\"\"\"\"",
        ];
        for n in 0..300 {
            text += &row(names[n % names.len()], n);
        }
        let want = serial(text.as_bytes()).unwrap();
        assert_eq!(want.len(), 300);
        for block in [1, 7, 64, 300, 4096, BLOCK] {
            let (got, _) = read(text.as_bytes(), block, None).unwrap();
            assert_eq!(got, want, "block {block}");
        }
        let (got, _) = read(text.as_bytes(), 64, Some(300)).unwrap();
        assert_eq!(got.capacity(), 300);
    }

    #[test]
    fn a_sink_that_stops_got_the_first_records_in_order_and_nothing_after() {
        let mut text = header_line();
        for n in 0..500 {
            text += &row("a.jpg", n);
        }
        for stop_after in [1, 2, 5] {
            // Small blocks: parsing the next block and handing over the last one overlap.
            let (mut sizes, mut calls) = (Vec::new(), 0);
            let done = read_with(text.as_bytes(), 256, |part, _| {
                calls += 1;
                sizes.extend(part.iter().map(|r| r.size));
                calls < stop_after
            });
            assert!(done.is_none(), "stopped after {stop_after}");
            assert_eq!(calls, stop_after);
            assert_eq!(sizes, (0..sizes.len() as u64).collect::<Vec<_>>());
        }
        // A sink that never stops sees every record once, in order.
        let mut sizes = Vec::new();
        read_with(text.as_bytes(), 256, |part, _| {
            sizes.extend(part.iter().map(|r| r.size));
            true
        })
        .unwrap();
        assert_eq!(sizes, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn plain_rows_empty_lines_and_a_last_row_without_newline() {
        let mut text = header_line();
        for n in 0..50 {
            text += &row("a.jpg", n);
            if n % 7 == 0 {
                text += "\n";
            }
        }
        text.pop();
        let want = serial(text.as_bytes()).unwrap();
        assert_eq!(want.len(), 50);
        for block in [1, 100, BLOCK] {
            assert_eq!(read(text.as_bytes(), block, None).unwrap().0, want);
        }
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(read(crlf.as_bytes(), 100, None).unwrap().0, want);
    }

    #[test]
    fn a_stray_quote_or_a_bad_row_leaves_it_to_the_serial_reader() {
        let text = header_line() + &row("a\"b.jpg", 0);
        assert!(read(text.as_bytes(), BLOCK, None).is_none());
        assert_eq!(serial(text.as_bytes()).unwrap().len(), 1);
        let text = header_line() + &row("a.jpg", 0).replace("cats,0", "cats,zero");
        assert!(read(text.as_bytes(), BLOCK, None).is_none());
        assert!(read(&b""[..], BLOCK, None).is_none());
    }

    proptest::proptest! {
        /// Paths made of the bytes that matter to CSV: the fast reader gives up or agrees.
        #[test]
        fn never_disagrees_with_the_serial_reader(
            paths in proptest::collection::vec("[a\",\n\r]{0,6}", 1..12),
            block in 1usize..200,
        ) {
            let mut text = header_line();
            for (n, p) in paths.iter().enumerate() {
                text += &row(p, n);
            }
            if let Some((got, _)) = read(text.as_bytes(), block, None) {
                proptest::prop_assert_eq!(Some(got), serial(text.as_bytes()));
            }
        }
    }
}
