//! How a record's JSON is stored in `records.data`: LZ4 (a tag byte, the JSON's length as a
//! little-endian u32, one LZ4 block), which decodes in a few microseconds — a scan decodes
//! every record of every package it looks up. Indexes written before LZ4 hold zstd frames;
//! those still decode (the two are told apart by their first bytes), so an index need not
//! be rebuilt after an upgrade.

const LZ4_TAG: u8 = 0x04;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The stored form of `json`.
pub(crate) fn encode(json: &[u8]) -> Vec<u8> {
    let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(5 + lz4_flex::block::get_maximum_output_size(json.len()));
    out.push(LZ4_TAG);
    out.extend_from_slice(&len.to_le_bytes());
    out.resize(5 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
    // The buffer holds the worst case, so the block always fits.
    let written = lz4_flex::block::compress_into(json, &mut out[5..]).unwrap_or(0);
    out.truncate(5 + written);
    out
}

/// Decodes stored records into one reused buffer. The zstd context (about 100 KiB) is made only
/// when an older index's zstd record is met.
#[derive(Default)]
pub(crate) struct Decoder {
    zstd: Option<zstd::bulk::Decompressor<'static>>,
    buffer: Vec<u8>,
    /// The rid whose JSON `buffer` holds, so a record read twice (head, then whole) is
    /// decompressed once.
    holds: Option<i64>,
}

impl Decoder {
    /// The JSON of record `rid` (`None`: a one-off, never taken for another) stored as `blob`;
    /// `max` bounds the decoded size. The error says what is wrong with the blob.
    pub(crate) fn json(
        &mut self,
        rid: Option<i64>,
        blob: &[u8],
        max: usize,
    ) -> Result<&[u8], String> {
        if rid.is_none() || self.holds != rid {
            self.holds = None;
            decode_into(blob, &mut self.buffer, &mut self.zstd, max)?;
            self.holds = rid;
        }
        Ok(&self.buffer)
    }
}

/// Decodes a stored record into `out` (cleared first); `max` bounds the decoded size. The
/// error says what is wrong with the blob.
fn decode_into(
    blob: &[u8],
    out: &mut Vec<u8>,
    zstd: &mut Option<zstd::bulk::Decompressor<'static>>,
    max: usize,
) -> Result<(), String> {
    out.clear();
    if let Some(rest) = blob.strip_prefix(&[LZ4_TAG]) {
        let (len, block) = rest.split_first_chunk::<4>().ok_or("a truncated LZ4 header")?;
        let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > max {
            return Err(format!("a record of {len} bytes (at most {max} are read)"));
        }
        out.resize(len, 0);
        let n = lz4_flex::block::decompress_into(block, out).map_err(|e| e.to_string())?;
        if n != len {
            return Err(format!("{n} bytes decoded, {len} expected"));
        }
        return Ok(());
    }
    if !blob.starts_with(&ZSTD_MAGIC) {
        return Err("neither an LZ4 record nor a zstd frame".to_string());
    }
    let size = zstd::zstd_safe::get_frame_content_size(blob)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= max)
        .ok_or("no valid zstd frame size")?;
    out.reserve(size);
    if zstd.is_none() {
        *zstd = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("starting zstd: {e}"))?);
    }
    let zstd = zstd.as_mut().ok_or("no zstd context")?;
    zstd.decompress_to_buffer(blob, out).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zstd() -> Option<zstd::bulk::Decompressor<'static>> {
        None
    }

    #[test]
    fn round_trips_and_reads_zstd_records() {
        let json = br#"{"id":"RUSTSEC-2020-0001","summary":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
        let mut out = Vec::new();
        decode_into(&encode(json), &mut out, &mut zstd(), 1 << 20).unwrap();
        assert_eq!(out, json);
        decode_into(&encode(b""), &mut out, &mut zstd(), 1 << 20).unwrap();
        assert!(out.is_empty());
        // What indexes of layout 2 before LZ4 hold.
        let old = zstd::bulk::compress(json, 9).unwrap();
        decode_into(&old, &mut out, &mut zstd(), 1 << 20).unwrap();
        assert_eq!(out, json);
    }

    #[test]
    fn a_decoder_decompresses_a_record_once_and_one_offs_always() {
        let (a, b) = (br#"{"id":"A"}"#.as_slice(), br#"{"id":"B"}"#.as_slice());
        let mut d = Decoder::default();
        assert_eq!(d.json(Some(1), &encode(a), 1 << 20).unwrap(), a);
        // Record 1 again: the buffer already holds it (the blob is not read).
        assert_eq!(d.json(Some(1), &encode(b), 1 << 20).unwrap(), a);
        assert_eq!(d.json(Some(2), &encode(b), 1 << 20).unwrap(), b);
        assert_eq!(d.json(None, &encode(a), 1 << 20).unwrap(), a);
        assert_eq!(d.json(None, &encode(b), 1 << 20).unwrap(), b);
        // A failed decode leaves nothing taken for record 2.
        assert!(d.json(Some(2), b"junk", 1 << 20).is_err());
        assert_eq!(d.json(Some(2), &encode(a), 1 << 20).unwrap(), a);
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let json =
            br#"{"id":"X","details":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}"#;
        let good = encode(json);
        let mut out = Vec::new();
        for cut in 0..good.len() {
            assert!(decode_into(&good[..cut], &mut out, &mut zstd(), 1 << 20).is_err(), "{cut}");
        }
        assert!(decode_into(&good, &mut out, &mut zstd(), 10).unwrap_err().contains("at most 10"));
        assert!(decode_into(b"{}", &mut out, &mut zstd(), 1 << 20).is_err());
    }
}
