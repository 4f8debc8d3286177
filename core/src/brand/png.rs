//! An uploaded PNG logo, checked chunk by chunk and re-written with the chunks needed to
//! draw it only: IHDR, PLTE, tRNS, IDAT and IEND. Text (`tEXt`, `zTXt`, `iTXt`), Exif
//! (`eXIf`), ICC profiles, private chunks and anything after IEND are not copied: they can
//! carry metadata the app did not mean to publish, or a second file (a polyglot).
//!
//! Why the chunks are walked here and not with the `png` crate: the walk is the PNG
//! specification's chunk layout (length, type, data, CRC; section 5.3) and ordering rules
//! (section 5.6), about a hundred lines, and the CRC is the maintained `crc` crate's
//! table-less CRC-32 (a loop of a few dozen bytes of wasm, no 1 KiB to 16 KiB tables). The
//! `png` crate would decode the image to do the same: its decoder brings its inflate
//! (`fdeflate`, `miniz_oxide`) and `crc32fast`'s tables into the wasm, about 50 KB gzip
//! (png 0.17.16 decoding one frame, measured alone: opt-level z, LTO, wasm-opt -Oz), where
//! this file and the CRC cost about 1.5 KB; and it offers no way to write back a file with
//! chosen chunks, so that part would be written by hand anyway. What this does not
//! check is the compressed pixel data in IDAT: the logo is served as `image/png` with
//! `nosniff` and a policy that runs nothing, so a browser only ever decodes it as an image
//! (docs/security.md).
//! Spec: <https://www.w3.org/TR/png-3/#5Chunk-layout>.

use super::invalid_logo;
use crate::error::ApiResult;
use crc::{Crc, NoTable, CRC_32_ISO_HDLC};

/// The 8 bytes every PNG starts with.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The widest and tallest logo taken, in pixels (pages show it at a few dozen).
pub const MAX_SIDE: u32 = 1024;

/// PNG's CRC-32 (ISO-HDLC, over a chunk's type and data), computed without a table.
const CRC32: Crc<u32, NoTable> = Crc::<u32, NoTable>::new(&CRC_32_ISO_HDLC);

/// The PNG with only IHDR, PLTE, tRNS, IDAT and IEND, or 422 `invalid_logo` naming what is
/// wrong: no PNG signature, a chunk that runs past the body or whose CRC does not match,
/// chunks out of order, an unknown critical chunk, bytes after IEND, an image over
/// 1024 x 1024 pixels.
pub fn sanitize(body: &[u8]) -> ApiResult<Vec<u8>> {
    let rest = body.strip_prefix(&SIGNATURE).ok_or_else(|| invalid_logo("the body is not a PNG (no PNG signature)"))?;
    let mut out = Vec::with_capacity(body.len());
    out.extend_from_slice(&SIGNATURE);
    let mut at = 0;
    let mut state = Order::default();
    loop {
        let chunk = read_chunk(rest, at)?;
        at = chunk.end;
        let keep = state.see(&chunk)?;
        if keep {
            out.extend_from_slice(&rest[chunk.start..chunk.end]);
        }
        if &chunk.kind == b"IEND" {
            break;
        }
    }
    if at != rest.len() {
        return Err(invalid_logo("the PNG has bytes after its IEND chunk"));
    }
    Ok(out)
}

/// One chunk: its type, its data, and where it lies (length to CRC) in the body.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    start: usize,
    end: usize,
}

/// The chunk at `at`, its length inside the body and its CRC checked.
fn read_chunk(body: &[u8], at: usize) -> ApiResult<Chunk<'_>> {
    let truncated = || invalid_logo("the PNG ends inside a chunk (or has no IEND chunk)");
    let header = body.get(at..at + 8).ok_or_else(truncated)?;
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    // The spec caps a chunk's length at 2^31 - 1; any such length is far past a 32 KiB body.
    let len = usize::try_from(len).map_err(|_| truncated())?;
    let kind = [header[4], header[5], header[6], header[7]];
    if !kind.iter().all(u8::is_ascii_alphabetic) {
        return Err(invalid_logo("the PNG has a chunk whose type is not four letters"));
    }
    let data_end = (at + 8).checked_add(len).ok_or_else(truncated)?;
    let data = body.get(at + 8..data_end).ok_or_else(truncated)?;
    let crc = body.get(data_end..data_end + 4).ok_or_else(truncated)?;
    let typed = body.get(at + 4..data_end).ok_or_else(truncated)?;
    if CRC32.checksum(typed) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(invalid_logo("the PNG has a chunk whose CRC does not match"));
    }
    Ok(Chunk { kind, data, start: at, end: data_end + 4 })
}

/// What the chunks so far allow next (PNG's ordering rules, section 5.6).
#[derive(Default)]
struct Order {
    /// IHDR's colour type, once read.
    color_type: Option<u8>,
    plte: bool,
    trns: bool,
    /// 0: no IDAT yet; 1: in the IDAT run; 2: the run is over.
    idat: u8,
}

impl Order {
    /// Checks `chunk` against the chunks before it: whether it is copied, or why the PNG is
    /// refused.
    fn see(&mut self, chunk: &Chunk<'_>) -> ApiResult<bool> {
        let out_of_order = |what: &str| invalid_logo(format!("the PNG's chunks are out of order ({what})"));
        let Some(color_type) = self.color_type else {
            if &chunk.kind != b"IHDR" {
                return Err(out_of_order("IHDR must come first"));
            }
            self.color_type = Some(check_header(chunk.data)?);
            return Ok(true);
        };
        if self.idat == 1 && &chunk.kind != b"IDAT" {
            self.idat = 2;
        }
        match &chunk.kind {
            b"IHDR" => Err(out_of_order("a second IHDR")),
            b"PLTE" => {
                if self.plte || self.trns || self.idat > 0 || matches!(color_type, 0 | 4) {
                    return Err(out_of_order("PLTE"));
                }
                if chunk.data.is_empty() || !chunk.data.len().is_multiple_of(3) || chunk.data.len() > 256 * 3 {
                    return Err(invalid_logo("the PNG's palette is not 1 to 256 colours"));
                }
                self.plte = true;
                Ok(true)
            }
            b"tRNS" => {
                if self.trns || self.idat > 0 || matches!(color_type, 4 | 6) || (color_type == 3 && !self.plte) {
                    return Err(out_of_order("tRNS"));
                }
                self.trns = true;
                Ok(true)
            }
            b"IDAT" => {
                if self.idat == 2 {
                    return Err(out_of_order("IDAT chunks must follow one another"));
                }
                if color_type == 3 && !self.plte {
                    return Err(out_of_order("a palette image needs PLTE before IDAT"));
                }
                self.idat = 1;
                Ok(true)
            }
            b"IEND" => {
                if self.idat == 0 {
                    return Err(invalid_logo("the PNG has no image data (IDAT)"));
                }
                if !chunk.data.is_empty() {
                    return Err(invalid_logo("the PNG's IEND chunk is not empty"));
                }
                Ok(true)
            }
            // A critical chunk (upper-case first letter) this does not know: the image may
            // not draw without it, so it is not served half-understood.
            kind if kind[0].is_ascii_uppercase() => {
                Err(invalid_logo("the PNG has a critical chunk this does not read"))
            }
            // Ancillary: not copied. One inside the IDAT run breaks the run (refused above
            // at the next IDAT).
            _ => Ok(false),
        }
    }
}

/// Checks IHDR's data (13 bytes, section 11.2.1) and returns the colour type.
fn check_header(data: &[u8]) -> ApiResult<u8> {
    let bad = |what: &str| invalid_logo(format!("the PNG's IHDR is not valid ({what})"));
    let [w0, w1, w2, w3, h0, h1, h2, h3, depth, color_type, compression, filter, interlace] = data else {
        return Err(bad("it is not 13 bytes"));
    };
    let (width, height) = (u32::from_be_bytes([*w0, *w1, *w2, *w3]), u32::from_be_bytes([*h0, *h1, *h2, *h3]));
    if width == 0 || height == 0 {
        return Err(bad("zero width or height"));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(invalid_logo("the PNG is larger than 1024 x 1024 pixels"));
    }
    let depth_ok = match color_type {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => return Err(bad("unknown colour type")),
    };
    if !depth_ok {
        return Err(bad("bit depth not allowed for its colour type"));
    }
    if *compression != 0 || *filter != 0 || *interlace > 1 {
        return Err(bad("unknown compression, filter or interlace method"));
    }
    Ok(*color_type)
}
