//! The token-level mutator shared by the fuzz targets: replaces, inserts, deletes, swaps and
//! duplicates tokens and statements of the language (from `compile.dict`), so that
//! mutations of the example models mostly stay close to valid networks and reach the
//! checker and code generator, not only the parser.

/// The dictionary's tokens, unescaped (`\n`, `\xNN`, `\\`, `\"`).
fn dictionary() -> &'static [Vec<u8>] {
    static DICT: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    DICT.get_or_init(|| {
        include_str!("compile.dict")
            .lines()
            .filter_map(|line| line.strip_prefix('"')?.strip_suffix('"'))
            .map(unescape)
            .collect()
    })
}

fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'x' if i + 3 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap_or("3f");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 2;
                }
                other => out.push(other),
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A small xorshift generator seeded by libFuzzer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Splits source bytes into tokens: runs of name/number characters, runs of whitespace,
/// and single punctuation bytes (`->` kept whole). Joining them gives the input back.
fn tokens(data: &[u8]) -> Vec<&[u8]> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b >= 0x80;
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let start = i;
        if word(data[i]) {
            while i < data.len() && word(data[i]) {
                i += 1;
            }
        } else if data[i].is_ascii_whitespace() {
            while i < data.len() && data[i].is_ascii_whitespace() {
                i += 1;
            }
        } else if data[i..].starts_with(b"->") {
            i += 2;
        } else {
            i += 1;
        }
        out.push(&data[start..i]);
    }
    out
}

fn token_mutation(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let dict = dictionary();
    let mut toks: Vec<Vec<u8>> = tokens(data).into_iter().map(<[u8]>::to_vec).collect();
    let pick = |rng: &mut Rng| dict[rng.below(dict.len())].clone();
    match rng.below(7) {
        // Replace a token by a dictionary token.
        0 if !toks.is_empty() => {
            let i = rng.below(toks.len());
            toks[i] = pick(rng);
        }
        // Insert a dictionary token, with a space on either side.
        1 => {
            let i = rng.below(toks.len() + 1);
            let mut t = b" ".to_vec();
            t.extend(pick(rng));
            t.push(b' ');
            toks.insert(i, t);
        }
        // Delete a token.
        2 if !toks.is_empty() => {
            let i = rng.below(toks.len());
            toks.remove(i);
        }
        // Duplicate a statement (the bytes between two `;`, or a whole network).
        3 | 4 => {
            let bounds: Vec<usize> = toks
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t.as_slice(), b";" | b"{" | b"}"))
                .map(|(i, _)| i)
                .collect();
            if bounds.len() >= 2 {
                let a = rng.below(bounds.len() - 1);
                let b = a + 1 + rng.below(bounds.len() - a - 1);
                let piece: Vec<Vec<u8>> = toks[bounds[a] + 1..=bounds[b]].to_vec();
                let at = bounds[rng.below(bounds.len())] + 1;
                for (k, t) in piece.into_iter().enumerate() {
                    toks.insert(at + k, t);
                }
            }
        }
        // Swap two tokens.
        5 if toks.len() >= 2 => {
            let (i, j) = (rng.below(toks.len()), rng.below(toks.len()));
            toks.swap(i, j);
        }
        // Replace a number by an extreme one.
        _ => {
            let numbers: Vec<usize> = toks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.first().is_some_and(u8::is_ascii_digit))
                .map(|(i, _)| i)
                .collect();
            if !numbers.is_empty() {
                const EXTREME: &[&str] = &[
                    "0",
                    "1",
                    "2",
                    "1e999",
                    "1e-320",
                    "65536",
                    "4294967297",
                    "18446744073709551615",
                    "18446744073709551616",
                    "0.0",
                    "1e308",
                    "100000",
                ];
                let i = numbers[rng.below(numbers.len())];
                toks[i] = EXTREME[rng.below(EXTREME.len())].as_bytes().to_vec();
            }
        }
    }
    toks.concat()
}

/// One mutation of `data[..size]` in place, returning the new size: half the time
/// libFuzzer's own (byte-level, with the dictionary), half a token-level one.
pub fn mutate(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng(u64::from(seed) | 1 << 40);
    if rng.below(2) == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let mutated = token_mutation(&data[..size], &mut rng);
    let n = mutated.len().min(max_size);
    data[..n].copy_from_slice(&mutated[..n]);
    n
}
