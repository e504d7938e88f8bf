//! WAV files as the telephone network wants them: read any common WAV (PCM 8 to 32 bits,
//! float, A-law, mu-law; mono or several channels; any rate), check it is a usable
//! prompt, and write it as 8 kHz mono mu-law, the network's own format.

// Audio arithmetic: sample counts stay far below 2^52 and samples are clamped to i16.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

/// The rate prompts are stored at.
pub const RATE: u32 = 8000;
/// A prompt shorter than this is a mistake (a click, an empty take).
pub const MIN_SECONDS: f64 = 0.3;
/// A prompt longer than this is a mistake too (a whole message, a forgotten recorder).
pub const MAX_SECONDS: f64 = 120.0;
/// Peak amplitude (of 32,767) under which a recording is taken for silence.
const SILENT_PEAK: i16 = 200;

/// Why a file cannot be a prompt. The messages are shown to supervisors as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WavError {
    /// Not RIFF/WAVE.
    #[error("this is not a WAV file (export the recording as WAV)")]
    NotWav,
    /// A WAV we cannot read.
    #[error("unsupported WAV encoding: {0} (use 16-bit PCM)")]
    Unsupported(String),
    /// Damaged or cut short.
    #[error("the WAV file is damaged: {0}")]
    Damaged(&'static str),
    /// No sound in it.
    #[error("the recording is empty")]
    Empty,
    /// Nothing but silence.
    #[error("the recording is silent (check the microphone)")]
    Silent,
    /// Too short.
    #[error("the recording lasts {0:.1} s: a prompt needs at least {MIN_SECONDS} s")]
    TooShort(f64),
    /// Too long.
    #[error("the recording lasts {0:.0} s: a prompt may last {MAX_SECONDS} s at most")]
    TooLong(f64),
}

/// Sample encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Pcm(u16),
    Float32,
    ALaw,
    MuLaw,
}

/// What a WAV header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    encoding: Encoding,
    channels: u16,
    rate: u32,
}

impl Format {
    fn bytes_per_sample(self) -> usize {
        match self.encoding {
            Encoding::Pcm(bits) => usize::from(bits / 8),
            Encoding::Float32 => 4,
            Encoding::ALaw | Encoding::MuLaw => 1,
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The format and the sample bytes of a WAV file.
fn parse(bytes: &[u8]) -> Result<(Format, &[u8]), WavError> {
    parse_with_size(bytes).map(|(f, data, _)| (f, data))
}

/// [`parse`], with the data size the header declares (all of it may not be in `bytes`).
fn parse_with_size(bytes: &[u8]) -> Result<(Format, &[u8], usize), WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWav);
    }
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(bytes, at + 4).ok_or(WavError::Damaged("chunk header"))? as usize;
        let body = at + 8;
        if id == b"fmt " {
            let fmt = bytes.get(body..body + size.min(40)).ok_or(WavError::Damaged("format chunk"))?;
            let tag = u16_at(fmt, 0).ok_or(WavError::Damaged("format chunk"))?;
            let channels = u16_at(fmt, 2).ok_or(WavError::Damaged("format chunk"))?;
            let rate = u32_at(fmt, 4).ok_or(WavError::Damaged("format chunk"))?;
            let bits = u16_at(fmt, 14).ok_or(WavError::Damaged("format chunk"))?;
            // WAVE_FORMAT_EXTENSIBLE names the real format in its sub-format's first bytes.
            let tag =
                if tag == 0xFFFE { u16_at(fmt, 24).ok_or(WavError::Damaged("format chunk"))? } else { tag };
            let encoding = match (tag, bits) {
                (1, 8 | 16 | 24 | 32) => Encoding::Pcm(bits),
                (3, 32) => Encoding::Float32,
                (6, 8) => Encoding::ALaw,
                (7, 8) => Encoding::MuLaw,
                _ => return Err(WavError::Unsupported(format!("format {tag}, {bits} bits"))),
            };
            if channels == 0 || !(4000..=192_000).contains(&rate) {
                return Err(WavError::Unsupported(format!("{channels} channel(s) at {rate} Hz")));
            }
            format = Some(Format { encoding, channels, rate });
        } else if id == b"data" {
            let format = format.ok_or(WavError::Damaged("data before the format chunk"))?;
            // A recorder stopped abruptly may leave the size unset: take what is there.
            let end = body.saturating_add(size).min(bytes.len());
            return Ok((format, &bytes[body.min(end)..end], size));
        }
        at = body + size + (size & 1);
    }
    Err(WavError::Damaged("no data chunk"))
}

/// G.711 A-law to linear.
fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = i16::from(a & 0x0F) << 4;
    let segment = (a & 0x70) >> 4;
    t = match segment {
        0 => t + 8,
        1 => t + 0x108,
        s => (t + 0x108) << (s - 1),
    };
    if a & 0x80 == 0 { -t } else { t }
}

/// G.711 mu-law to linear.
fn mulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let t = ((i16::from(u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 == 0 { t - 0x84 } else { 0x84 - t }
}

/// Linear to G.711 mu-law.
fn linear_to_mulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (0..8).rev().find(|e| s & (0x80 << e) != 0).unwrap_or(0);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let byte = !(sign | (exponent << 4) | mantissa) as u8;
    byte
}

/// Mono samples at a rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second.
    pub rate: u32,
    /// Linear 16-bit samples.
    pub samples: Vec<i16>,
}

impl Audio {
    /// Length in seconds.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate.max(1))
    }
}

/// Reads a WAV file into mono samples (channels are averaged).
///
/// # Errors
/// When it is not a WAV file this module reads.
pub fn decode(bytes: &[u8]) -> Result<Audio, WavError> {
    let (format, data) = parse(bytes)?;
    let width = format.bytes_per_sample();
    let frame = width * usize::from(format.channels);
    let sample = |b: &[u8]| -> i32 {
        match format.encoding {
            Encoding::Pcm(8) => (i32::from(b[0]) - 128) << 8,
            Encoding::Pcm(16) => i32::from(i16::from_le_bytes([b[0], b[1]])),
            Encoding::Pcm(24) => i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 16,
            Encoding::Pcm(_) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 16,
            Encoding::Float32 => {
                let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                #[allow(clippy::cast_possible_truncation)]
                let s = (f.clamp(-1.0, 1.0) * 32_767.0) as i32;
                s
            }
            Encoding::ALaw => i32::from(alaw_to_linear(b[0])),
            Encoding::MuLaw => i32::from(mulaw_to_linear(b[0])),
        }
    };
    let channels = i32::from(format.channels);
    let samples = data
        .chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f.chunks_exact(width).map(sample).sum();
            #[allow(clippy::cast_possible_truncation)]
            let mono = (sum / channels).clamp(-32_768, 32_767) as i16;
            mono
        })
        .collect();
    Ok(Audio { rate: format.rate, samples })
}

/// The length in seconds of a WAV file, read from its header (the file's first kilobytes
/// are enough).
#[must_use]
pub fn seconds(bytes: &[u8]) -> Option<f64> {
    let (format, _, size) = parse_with_size(bytes).ok()?;
    let frames = size / (format.bytes_per_sample() * usize::from(format.channels));
    Some(frames as f64 / f64::from(format.rate))
}

/// Whether a file is already what the network plays: 8 kHz mono, mu-law or 16-bit PCM.
#[must_use]
pub fn is_telephone_format(bytes: &[u8]) -> bool {
    parse(bytes).is_ok_and(|(f, _)| {
        f.rate == RATE && f.channels == 1 && matches!(f.encoding, Encoding::MuLaw | Encoding::Pcm(16))
    })
}

/// Checks that a recording can be a prompt: not empty, not silent, of a sensible length.
///
/// # Errors
/// What is wrong with it.
pub fn check(audio: &Audio) -> Result<(), WavError> {
    if audio.samples.is_empty() {
        return Err(WavError::Empty);
    }
    let seconds = audio.seconds();
    if seconds < MIN_SECONDS {
        return Err(WavError::TooShort(seconds));
    }
    if seconds > MAX_SECONDS {
        return Err(WavError::TooLong(seconds));
    }
    if audio.samples.iter().all(|s| s.unsigned_abs() < SILENT_PEAK.unsigned_abs()) {
        return Err(WavError::Silent);
    }
    Ok(())
}

/// Resamples to [`RATE`]: an average over each output sample's span (a low-pass that
/// keeps speech, drops what 8 kHz cannot carry), interpolated between input samples.
#[must_use]
pub fn to_telephone_rate(audio: &Audio) -> Audio {
    if audio.rate == RATE {
        return audio.clone();
    }
    let step = f64::from(audio.rate) / f64::from(RATE);
    let input = &audio.samples;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let count = (input.len() as f64 / step).floor() as usize;
    let half = (step / 2.0).max(0.5);
    let samples = (0..count)
        .map(|i| {
            let centre = i as f64 * step;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let (from, to) = (
                (centre - half).ceil().max(0.0) as usize,
                ((centre + half).floor() as usize).min(input.len().saturating_sub(1)),
            );
            if to <= from {
                return input[from.min(input.len() - 1)];
            }
            let sum: i64 = input[from..=to].iter().map(|&s| i64::from(s)).sum();
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let mean = (sum / (to - from + 1) as i64) as i16;
            mean
        })
        .collect();
    Audio { rate: RATE, samples }
}

/// Writes mono samples at [`RATE`] as a mu-law WAV file.
#[must_use]
pub fn encode_mulaw(audio: &Audio) -> Vec<u8> {
    let data: Vec<u8> = audio.samples.iter().map(|&s| linear_to_mulaw(s)).collect();
    let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(data.len() + 58);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(50 + size).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    // fmt: mu-law (7), mono, 8 kHz, 8 kB/s, block 1, 8 bits, no extra bytes.
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&7u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&audio.rate.to_le_bytes());
    out.extend_from_slice(&audio.rate.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    // fact: sample count (non-PCM formats carry one).
    out.extend_from_slice(b"fact");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Makes an uploaded file a prompt: checked, and converted to 8 kHz mono mu-law unless it
/// already is in a format the network plays.
///
/// # Errors
/// What is wrong with the recording.
pub fn prepare(bytes: &[u8]) -> Result<(Vec<u8>, f64), WavError> {
    let audio = decode(bytes)?;
    check(&audio)?;
    // Kept as sent only when its header tells the truth: a file cut short declares more
    // audio than it holds, and is written again, whole.
    let whole = seconds(bytes).is_some_and(|declared| (declared - audio.seconds()).abs() < 1e-6);
    if is_telephone_format(bytes) && whole {
        return Ok((bytes.to_vec(), audio.seconds()));
    }
    let phone = to_telephone_rate(&audio);
    let seconds = phone.seconds();
    Ok((encode_mulaw(&phone), seconds))
}

/// Writes 16-bit PCM WAV (for tests and tools).
#[must_use]
pub fn encode_pcm16(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let size = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(samples.len() * 2 + 44);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + size).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&size.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// A sine tone as a 16-bit PCM WAV file, every channel alike (for tests, and to try a
/// line's audio path before the city's recordings exist).
#[must_use]
pub fn tone(rate: u32, channels: u16, seconds: f64, pitch: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * seconds) as usize;
    let samples: Vec<i16> = (0..frames)
        .flat_map(|i| {
            let s = ((i as f64 * pitch * std::f64::consts::TAU / f64::from(rate)).sin() * 12_000.0) as i16;
            std::iter::repeat_n(s, usize::from(channels))
        })
        .collect();
    encode_pcm16(rate, channels, &samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulaw_round_trips_within_its_step() {
        for s in [-32_000i16, -1000, -10, 0, 10, 1000, 32_000] {
            let back = mulaw_to_linear(linear_to_mulaw(s));
            let tolerance = (i32::from(s).abs() / 16).max(8);
            assert!((i32::from(back) - i32::from(s)).abs() <= tolerance, "{s} -> {back}");
        }
        assert_eq!(alaw_to_linear(0xD5), 8);
    }

    #[test]
    fn a_stereo_44k_recording_becomes_8k_mono_mulaw_of_the_same_length() {
        let wav = tone(44_100, 2, 2.0, 440.0);
        assert!(!is_telephone_format(&wav));
        let (phone, seconds) = prepare(&wav).unwrap();
        assert!((seconds - 2.0).abs() < 0.01, "{seconds}");
        assert!(is_telephone_format(&phone));
        let back = decode(&phone).unwrap();
        assert_eq!(back.rate, 8000);
        assert!((back.seconds() - 2.0).abs() < 0.01);
        let peak = back.samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((10_000..=13_000).contains(&peak), "a 440 Hz tone keeps its level: {peak}");
        assert_eq!(super::seconds(&phone), Some(back.seconds()));
    }

    #[test]
    fn a_telephone_file_is_kept_as_it_is() {
        let wav = tone(8000, 1, 1.0, 440.0);
        assert_eq!(prepare(&wav).unwrap().0, wav);
    }

    /// Found by `scripts/fuzz wav`: a telephone file cut short was kept as sent, its header
    /// declaring more audio than it held (1.915 s declared, 1.823 s there).
    #[test]
    fn a_telephone_file_cut_short_is_written_again_with_a_true_header() {
        let wav = tone(8000, 1, 1.0, 440.0);
        let cut = &wav[..wav.len() - 1600];
        let (kept, reported) = prepare(cut).unwrap();
        assert_ne!(kept, cut);
        assert!((seconds(&kept).unwrap() - reported).abs() < 1e-6, "{reported}");
        assert!((reported - 0.9).abs() < 0.001, "{reported}");
    }

    #[test]
    fn empty_silent_short_long_and_foreign_files_are_refused() {
        assert_eq!(prepare(b"ID3\x03 not a wav at all"), Err(WavError::NotWav));
        assert_eq!(prepare(&encode_pcm16(8000, 1, &[])), Err(WavError::Empty));
        assert_eq!(prepare(&encode_pcm16(8000, 1, &vec![3; 16_000])), Err(WavError::Silent));
        assert!(matches!(prepare(&tone(8000, 1, 0.1, 440.0)), Err(WavError::TooShort(_))));
        assert!(matches!(prepare(&tone(8000, 1, 121.0, 440.0)), Err(WavError::TooLong(_))));
        let mut cut = tone(8000, 1, 1.0, 440.0);
        cut.truncate(30);
        assert!(prepare(&cut).is_err());
        let mut mp3ish = tone(8000, 1, 1.0, 440.0);
        mp3ish[20] = 0x55; // MPEG layer 3 in a WAV wrapper
        assert!(matches!(prepare(&mp3ish), Err(WavError::Unsupported(_))));
    }
}
