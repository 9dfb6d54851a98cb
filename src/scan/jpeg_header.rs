//! The colour model of a JPEG, read from its header markers.
//!
//! A CMYK or YCCK JPEG (four components; Photoshop and Pillow write an Adobe APP14 marker
//! saying which) is converted to RGB by the general decoder, which then reports `rgb8`. Its
//! colours are only right with the ICC profile most loaders ignore, so the index must say
//! `cmyk8` and set the `cmyk` flag: this reads that from the header, before any decoding.

/// What the header says about the colour model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegColour {
    /// Components of the frame (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// The Adobe APP14 transform byte (0 none: RGB or CMYK; 1 YCbCr; 2 YCCK), if present.
    pub adobe_transform: Option<u8>,
}

impl JpegColour {
    /// Four components: CMYK (Adobe transform 0 or no marker) or YCCK (transform 2).
    pub fn is_cmyk(self) -> bool {
        self.components == 4
    }
}

/// Walks the markers up to the first scan. `None` when no frame header is found (a broken
/// file; the decoder reports that).
pub fn colour(bytes: &[u8]) -> Option<JpegColour> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2usize;
    let mut adobe_transform = None;
    loop {
        // Fill bytes (0xFF runs) may precede a marker.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        i += 2;
        // Markers without a length: TEM, RST0-7.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return None; // end of image or start of scan before any frame header
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        let seg = bytes.get(i + 2..i + len)?;
        match marker {
            // APP14 "Adobe": version(2) flags0(2) flags1(2) transform(1).
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => {
                adobe_transform = Some(seg[11]);
            }
            // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision(1) height(2)
            // width(2) components(1).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some(JpegColour {
                    components: *seg.get(5)?,
                    adobe_transform,
                });
            }
            _ => {}
        }
        i += len;
    }
}

/// What a JPEG's frame header (SOFn) says about its size and layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u16,
    pub height: u16,
    /// SOF2, SOF6, SOF10, SOF14: progressive (libjpeg buffers every coefficient).
    pub progressive: bool,
    /// Each component's horizontal and vertical sampling factors.
    pub sampling: Vec<(u8, u8)>,
}

/// The frame header of a JPEG (the first SOFn before any scan); `None` when there is none.
pub fn frame(bytes: &[u8]) -> Option<Frame> {
    let (marker, seg) = frame_segment(bytes)?;
    let n = usize::from(*seg.get(5)?);
    let sampling = (0..n)
        .map(|k| {
            seg.get(7 + 3 * k)
                .map(|b| ((b >> 4).max(1), (b & 15).max(1)))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Frame {
        height: u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]),
        width: u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]),
        progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
        sampling,
    })
}

/// The first frame header's marker and segment.
fn frame_segment(bytes: &[u8]) -> Option<(u8, &[u8])> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2usize;
    loop {
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        i += 2;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        let seg = bytes.get(i + 2..i + len)?;
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some((marker, seg));
        }
        i += len;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A JPEG built by libjpeg-turbo (through `mozjpeg`) from `components` channels.
    pub(crate) fn jpeg(space: mozjpeg::ColorSpace, components: usize) -> Vec<u8> {
        let (w, h) = (48usize, 40usize);
        let mut c = mozjpeg::Compress::new(space);
        c.set_size(w, h);
        let mut started = c.start_compress(Vec::new()).unwrap();
        let px: Vec<u8> = (0..w * h * components)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        started.write_scanlines(&px).unwrap();
        started.finish().unwrap()
    }

    #[test]
    fn cmyk_rgb_and_gray_jpegs() {
        let cmyk = colour(&jpeg(mozjpeg::ColorSpace::JCS_CMYK, 4)).unwrap();
        assert!(cmyk.is_cmyk());
        assert!(cmyk.adobe_transform.is_some());
        let rgb = colour(&jpeg(mozjpeg::ColorSpace::JCS_RGB, 3)).unwrap();
        assert_eq!(rgb.components, 3);
        assert!(!rgb.is_cmyk());
        let gray = colour(&jpeg(mozjpeg::ColorSpace::JCS_GRAYSCALE, 1)).unwrap();
        assert_eq!(gray.components, 1);
    }

    #[test]
    fn broken_headers_are_none_not_a_panic() {
        assert_eq!(colour(b""), None);
        assert_eq!(colour(&[0xFF, 0xD8]), None);
        assert_eq!(colour(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]), None);
        assert_eq!(colour(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]), None);
        assert_eq!(colour(&[0xFF, 0xD8, 0xFF, 0xC0, 0xFF, 0xFF, 1, 2]), None);
        let full = jpeg(mozjpeg::ColorSpace::JCS_CMYK, 4);
        for cut in 0..200.min(full.len()) {
            let _ = colour(&full[..cut]);
        }
    }
}
